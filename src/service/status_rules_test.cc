#include "service/status_rules.h"

#include <gtest/gtest.h>

namespace ohfp {
namespace {

MachineReport WithState(const std::string& state, const std::string& reason = "") {
  Machine m;
  m.machine_id = "i-" + state;
  m.state = state;
  m.state_reason = reason;
  return AcquisitionMachineReport(m);
}

Request Wanting(int64_t n) {
  Request r;
  r.machine_count = n;
  return r;
}

TEST(StatusRulesTest, AcquisitionResultPerEc2State) {
  EXPECT_EQ(WithState("pending").result, "executing");
  EXPECT_EQ(WithState("running").result, "succeed");
  for (const char* s : {"stopping", "stopped", "shutting-down", "terminated"}) {
    MachineReport r = WithState(s);
    EXPECT_EQ(r.result, "fail") << s;
    EXPECT_FALSE(r.message.empty()) << s;
  }
  EXPECT_EQ(WithState("terminated", "Server.SpotInstanceTermination").message,
            "Server.SpotInstanceTermination");
}

TEST(StatusRulesTest, ReturnResultPerEc2State) {
  Machine m;
  for (const char* s : {"terminated", "stopped"}) {
    m.state = s;
    EXPECT_EQ(ReturnMachineReport(m).result, "succeed") << s;
  }
  for (const char* s : {"running", "shutting-down", "stopping", "pending"}) {
    m.state = s;
    EXPECT_EQ(ReturnMachineReport(m).result, "executing") << s;
  }
}

TEST(StatusRulesTest, AcquisitionVerdicts) {
  EXPECT_EQ(DecideAcquisition(Wanting(2), {WithState("running"), WithState("pending")}).state,
            RequestState::kInProgress);
  EXPECT_EQ(DecideAcquisition(Wanting(2), {WithState("running"), WithState("running")}).state,
            RequestState::kComplete);
  EXPECT_EQ(DecideAcquisition(Wanting(2), {WithState("running"), WithState("terminated")}).state,
            RequestState::kPartial);
  EXPECT_EQ(DecideAcquisition(Wanting(1), {WithState("terminated")}).state, RequestState::kFailed);
  EXPECT_EQ(DecideAcquisition(Wanting(3), {WithState("running")}).state, RequestState::kPartial);
  EXPECT_EQ(DecideAcquisition(Wanting(2), {}).state, RequestState::kFailed);
  Verdict v = DecideAcquisition(Wanting(3), {WithState("running"), WithState("terminated", "X"),
                                             WithState("terminated", "X")});
  EXPECT_EQ(v.message, "1 of 3 hosts running; 2 failed: X (x2)");
}

TEST(StatusRulesTest, HostFactoryStatusHasOnlyThreeValues) {
  EXPECT_STREQ(HostFactoryStatus(RequestState::kPending), "running");
  EXPECT_STREQ(HostFactoryStatus(RequestState::kInProgress), "running");
  EXPECT_STREQ(HostFactoryStatus(RequestState::kComplete), "complete");
  EXPECT_STREQ(HostFactoryStatus(RequestState::kPartial), "complete_with_error");
  EXPECT_STREQ(HostFactoryStatus(RequestState::kFailed), "complete_with_error");
}

}  // namespace
}  // namespace ohfp
