#include "contract/command.h"

#include <string>

#include <gtest/gtest.h>

namespace ohfp {
namespace {

using json = nlohmann::json;

Result<Command> Parse(Verb verb, const std::string& text) {
  auto doc = ParseInputText(text);
  if (!doc.ok()) return doc.status();
  return ParseCommand(verb, *doc);
}

TEST(CommandTest, RequestMachinesNestedCamelCase) {
  auto c =
      Parse(Verb::kRequestMachines, R"({"template": {"templateId": "od-m5", "machineCount": 6}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->template_id, "od-m5");
  EXPECT_EQ(c->machine_count, 6);
}

TEST(CommandTest, RequestMachinesSnakeAndFlatForms) {
  auto nested =
      Parse(Verb::kRequestMachines, R"({"template": {"template_id": "a", "machine_count": 2}})");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->machine_count, 2);
  auto flat = Parse(Verb::kRequestMachines, R"({"template_id": "a", "requested_count": 3})");
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->machine_count, 3);
  auto flat_camel = Parse(Verb::kRequestMachines, R"({"templateId": "a", "machineCount": 4.0})");
  ASSERT_TRUE(flat_camel.ok());
  EXPECT_EQ(flat_camel->machine_count, 4);
}

TEST(CommandTest, RequestMachinesRejectsBadCounts) {
  for (const char* bad :
       {R"({"template": {"templateId": "a", "machineCount": 0}})",
        R"({"template": {"templateId": "a", "machineCount": -3}})",
        R"({"template": {"templateId": "a", "machineCount": 1.5}})",
        R"({"template": {"templateId": "a", "machineCount": "3"}})",
        R"({"template": {"templateId": "a", "machineCount": 10001}})",
        R"({"template": {"templateId": "a", "machineCount": 1e300}})",
        R"({"template": {"templateId": "a", "machineCount": 18446744073709551615}})",
        R"({"template": {"templateId": "a"}})", R"({"template": {"machineCount": 1}})",
        R"({"template": {"templateId": 7, "machineCount": 1}})", R"({"template": "a"})"}) {
    auto c = Parse(Verb::kRequestMachines, bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), ErrorCode::kInvalidRequest) << bad;
  }
}

TEST(CommandTest, GetRequestStatusObjectOrArrayAndDeduplicates) {
  auto arr = Parse(Verb::kGetRequestStatus,
                   R"({"requests": [{"requestId": "req-1"}, {"request_id": "ret-2"},
                                    {"requestId": "req-1"}]})");
  ASSERT_TRUE(arr.ok());
  EXPECT_EQ(arr->request_ids, (std::vector<std::string>{"req-1", "ret-2"}));
  auto obj = Parse(Verb::kGetRequestStatus, R"({"requests": {"requestId": "req-9"}})");
  ASSERT_TRUE(obj.ok());
  EXPECT_EQ(obj->request_ids, (std::vector<std::string>{"req-9"}));
  auto strings = Parse(Verb::kGetRequestStatus, R"({"requests": ["req-3"]})");
  ASSERT_TRUE(strings.ok());
  EXPECT_EQ(strings->request_ids, (std::vector<std::string>{"req-3"}));
}

TEST(CommandTest, GetRequestStatusRejectsMalformed) {
  for (const char* bad :
       {R"({})", R"({"requests": 5})", R"({"requests": [{"x": 1}]})",
        R"({"requests": [{"requestId": ""}]})", R"({"requests": [{"requestId": ["a"]}]})"}) {
    EXPECT_FALSE(Parse(Verb::kGetRequestStatus, bad).ok()) << bad;
  }
  std::string huge = R"({"requests": [{"requestId": ")" + std::string(5000, 'a') + R"("}]})";
  EXPECT_FALSE(Parse(Verb::kGetRequestStatus, huge).ok());
}

TEST(CommandTest, ReturnMachinesArrayOrObjectByIdOrName) {
  auto arr = Parse(Verb::kRequestReturnMachines,
                   R"({"machines": [{"name": "ip-10-0-0-1", "machineId": "i-1"},
                                    {"name": "ip-10-0-0-2"}]})");
  ASSERT_TRUE(arr.ok());
  ASSERT_EQ(arr->machines.size(), 2u);
  EXPECT_EQ(arr->machines[0].machine_id, "i-1");
  EXPECT_EQ(arr->machines[1].name, "ip-10-0-0-2");
  auto obj = Parse(Verb::kRequestReturnMachines, R"({"machines": {"machine_id": "i-7"}})");
  ASSERT_TRUE(obj.ok());
  EXPECT_EQ(obj->machines[0].machine_id, "i-7");
  EXPECT_FALSE(Parse(Verb::kRequestReturnMachines, R"({"machines": [{}]})").ok());
  EXPECT_FALSE(Parse(Verb::kRequestReturnMachines, R"({})").ok());
}

TEST(CommandTest, GetReturnRequestsEmptyOrListed) {
  auto empty = Parse(Verb::kGetReturnRequests, "{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->machines_given);
  auto listed = Parse(Verb::kGetReturnRequests, R"({"machines": [{"name": "h1"}]})");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->machines_given);
  EXPECT_EQ(listed->machines.size(), 1u);
}

TEST(CommandTest, InputTextLimits) {
  EXPECT_TRUE(ParseInputText("").ok());
  EXPECT_TRUE(ParseInputText("  \n").ok());
  auto not_json = ParseInputText("{not json");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.status().code(), ErrorCode::kInvalidRequest);
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto too_deep = ParseInputText(deep);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.status().message().find("deeper"), std::string::npos);
  EXPECT_FALSE(ParseInputText(std::string(kMaxInputBytes + 1, ' ')).ok());
  EXPECT_FALSE(ParseCommand(Verb::kGetAvailableTemplates, json::array()).ok());
  EXPECT_FALSE(ParseInputText("{\"a\": 1} trailing").ok());
}

// Found by command_fuzzer: 33 levels of nesting were accepted.
TEST(CommandTest, NestingLimitIsExactlyThirtyTwoLevels) {
  auto nested = [](int levels, const std::string& open, const std::string& close,
                   const std::string& inner) {
    std::string text;
    for (int i = 0; i < levels; ++i) text += open;
    text += inner;
    for (int i = 0; i < levels; ++i) text += close;
    return text;
  };
  EXPECT_TRUE(ParseInputText(nested(kMaxJsonDepth, "[", "]", "")).ok());
  EXPECT_TRUE(ParseInputText(nested(kMaxJsonDepth, "[", "]", "1")).ok());
  EXPECT_TRUE(ParseInputText(nested(kMaxJsonDepth, "{\"a\":", "}", "7")).ok());
  EXPECT_FALSE(ParseInputText(nested(kMaxJsonDepth + 1, "[", "]", "")).ok());
  EXPECT_FALSE(ParseInputText(nested(kMaxJsonDepth + 1, "{\"a\":", "}", "[]")).ok());
  EXPECT_FALSE(ParseInputText(nested(kMaxJsonDepth, "[", "]", "{}")).ok());
}

TEST(CommandTest, VerbNamesRoundTrip) {
  for (const char* name : {"getAvailableTemplates", "requestMachines", "requestReturnMachines",
                           "getRequestStatus", "getReturnRequests"}) {
    auto v = ParseVerb(name);
    ASSERT_TRUE(v.has_value());
    EXPECT_STREQ(VerbName(*v), name);
  }
  EXPECT_FALSE(ParseVerb("launchEverything").has_value());
}

}  // namespace
}  // namespace ohfp
