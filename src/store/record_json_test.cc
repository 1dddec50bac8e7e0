#include "store/record_json.h"

#include <gtest/gtest.h>

namespace ohfp {
namespace {

TEST(RecordJsonTest, RequestRoundTripsWithSnakeCaseNames) {
  Request r;
  r.request_id = "ret-1";
  r.kind = RequestKind::kReturn;
  r.state = RequestState::kInProgress;
  r.machine_ids = {"i-2", "i-1"};
  r.handles = {{"fleet_id", "f-1"}};
  r.launch_attempts = 2;
  nlohmann::json j = RequestToJson(r);
  EXPECT_EQ(j["kind"], "return");
  EXPECT_EQ(j["state"], "in_progress");
  EXPECT_EQ(j["machine_ids"], (nlohmann::json{"i-2", "i-1"}));
  EXPECT_EQ(j["launch_attempts"], 2);
  auto back = RequestFromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
}

TEST(RecordJsonTest, MachineRoundTrips) {
  Machine m;
  m.machine_id = "i-1";
  m.return_request_id = "ret-1";
  m.public_ip = "1.2.3.4";
  m.launch_time = 17;
  nlohmann::json j = MachineToJson(m);
  EXPECT_EQ(j["return_request_id"], "ret-1");
  auto back = MachineFromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
}

TEST(RecordJsonTest, MissingFieldsKeepTheirDefaults) {
  auto r = RequestFromJson({{"request_id", "req-1"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, RequestKind::kAcquire);
  EXPECT_EQ(r->state, RequestState::kPending);
  EXPECT_EQ(r->handles, nlohmann::json::object());
  auto m = MachineFromJson({{"machine_id", "i-1"}, {"name", nullptr}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->name, "");
}

TEST(RecordJsonTest, RejectsWrongTypesAndUnknownNames) {
  EXPECT_FALSE(RequestFromJson({{"machine_count", "3"}}).ok());
  EXPECT_FALSE(RequestFromJson({{"state", "done"}}).ok());
  EXPECT_FALSE(RequestFromJson({{"kind", "borrow"}}).ok());
  EXPECT_FALSE(RequestFromJson({{"machine_ids", {"i-1", 2}}}).ok());
  EXPECT_FALSE(RequestFromJson(nlohmann::json::array()).ok());
  EXPECT_FALSE(MachineFromJson({{"launch_time", 1.5}}).ok());
  auto bad = MachineFromJson({{"state", 3}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("state"), std::string::npos);
}

}  // namespace
}  // namespace ohfp
