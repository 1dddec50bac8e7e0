#include "config/json_value.h"

#include <gtest/gtest.h>

namespace ohfp {
namespace {

using nlohmann::json;

TEST(JsonValueTest, ToInt64AcceptsNumbersAndNumericStrings) {
  EXPECT_EQ(ToInt64(json(40)), 40);
  EXPECT_EQ(ToInt64(json(-1)), -1);
  EXPECT_EQ(ToInt64(json(40.0)), 40);
  EXPECT_EQ(ToInt64(json("40")), 40);
  EXPECT_EQ(ToInt64(json(" +7 ")), 7);
  EXPECT_EQ(ToInt64(json("-3")), -3);
  for (json bad :
       {json("forty"), json("4 0"), json("40.5"), json(40.5), json(""), json("+"), json("++1"),
        json(true), json(nullptr), json("99999999999999999999"), json(18446744073709551615ull)}) {
    EXPECT_FALSE(ToInt64(bad).has_value()) << bad.dump();
  }
}

TEST(JsonValueTest, ToDoubleAndLooksNumeric) {
  EXPECT_DOUBLE_EQ(*ToDouble(json("0.25")), 0.25);
  EXPECT_DOUBLE_EQ(*ToDouble(json(3)), 3.0);
  EXPECT_FALSE(ToDouble(json("1e999")).has_value());
  EXPECT_FALSE(ToDouble(json("nan")).has_value());
  EXPECT_FALSE(ToDouble(json("0x10")).has_value());
  for (const char* yes : {"1", "-1", "+2.5", ".5", "5.", "1e3", "2E-2"}) {
    EXPECT_TRUE(LooksNumeric(yes)) << yes;
  }
  for (const char* no : {"", "-", ".", "e3", "1e", "1.2.3", " 1", "inf", "X86_64"}) {
    EXPECT_FALSE(LooksNumeric(no)) << no;
  }
}

TEST(JsonValueTest, ToBool) {
  EXPECT_EQ(ToBool(json(true)), true);
  EXPECT_EQ(ToBool(json("False")), false);
  EXPECT_EQ(ToBool(json(" true ")), true);
  EXPECT_EQ(ToBool(json(0)), false);
  EXPECT_FALSE(ToBool(json("yes please")).has_value());
  EXPECT_FALSE(ToBool(json(2)).has_value());
}

TEST(JsonValueTest, ExpandVariables) {
  std::map<std::string, std::string> env = {{"A", "1"}, {"B_2", "two"}, {"EMPTY", ""}};
  EXPECT_EQ(ExpandVariables("$A/${B_2}/x", env), "1/two/x");
  EXPECT_EQ(ExpandVariables("${A}${A}$A", env), "111");
  EXPECT_EQ(ExpandVariables("[$EMPTY]", env), "[]");
  EXPECT_EQ(ExpandVariables("$MISSING/${MISSING}", env), "$MISSING/${MISSING}");
  EXPECT_EQ(ExpandVariables("cost $5 and $ and ${}", env), "cost $5 and $ and ${}");
  EXPECT_EQ(ExpandVariables("${A", env), "${A");
  EXPECT_EQ(ExpandVariables("trailing $", env), "trailing $");
  EXPECT_EQ(ExpandVariables("$A_B", env), "$A_B");  // the name is A_B, not A
}

// The column is the character where the parser gave up: the 'o' of "nope".
TEST(JsonValueTest, ParseJsonTextGivesTheLineAndColumn) {
  Result<json> r = ParseJsonText("{\n  \"a\": 1,\n  \"b\": nope\n}", "/c/x.json", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kConfigurationError);
  EXPECT_NE(r.status().message().find("/c/x.json at line 3, column 9"), std::string::npos)
      << r.status().message();
}

// A deeper document parsed, then overflowed the stack when the template
// loader copied it (a 200 KB template file crashed ohfp).
TEST(JsonValueTest, ParseJsonTextLimitsNesting) {
  auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  EXPECT_TRUE(ParseJsonText(nested(kMaxConfigJsonDepth), "x.json", true).ok());
  for (int levels : {kMaxConfigJsonDepth + 1, 100000}) {
    Result<json> r = ParseJsonText(nested(levels), "x.json", true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kConfigurationError);
    EXPECT_NE(r.status().message().find("x.json: nests deeper than 64"), std::string::npos)
        << r.status().message();
  }
  Result<json> broken = ParseJsonText(nested(100000).substr(0, 150000), "x.json", true);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("deeper"), std::string::npos);
}

TEST(JsonValueTest, DescribeValueCutsLongValues) {
  EXPECT_EQ(DescribeValue(json("forty")), "\"forty\"");
  EXPECT_EQ(DescribeValue(json(std::string(100, 'x'))).size(), 43u);
}

// Found by template_fuzzer: a cut inside a multi-byte character left invalid
// UTF-8 in a rejected template's message, and the getAvailableTemplates
// answer then could not be printed as JSON.
TEST(JsonValueTest, DescribeValueCutsOnACharacterBoundary) {
  for (size_t ascii = 30; ascii < 42; ++ascii) {
    std::string text = std::string(ascii, 'x') + "\u00bc\u4e2d\U0001F600 and more text";
    std::string described = DescribeValue(json(text));
    EXPECT_NO_THROW(json(described).dump()) << ascii;
    EXPECT_EQ(described.substr(described.size() - 3), "...");
    EXPECT_LE(described.size(), 43u);
  }
}

}  // namespace
}  // namespace ohfp
