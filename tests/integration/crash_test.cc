// A process killed with SIGKILL at any point of the request, return and
// status paths loses nothing: the next calls report every instance that
// exists for a request, never launch a second set, and leave no instance
// that no request knows. Every store back end and every crash point joins
// by being listed.
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/crash_point.h"
#include "store/store.h"
#include "support/hostfactory_env.h"

namespace ohfp {
namespace {

using json = nlohmann::json;
using testsupport::Describe;
using testsupport::EnvOptions;
using testsupport::HostFactoryEnv;
using testsupport::RunResult;
using testsupport::StdoutJson;

constexpr int kActionTimeoutSec = 2;  // orphans are taken up after this
constexpr int kAbandonAfterSec = 4 * kActionTimeoutSec;
constexpr int kHostsPerRequest = 2;
constexpr int kRounds = 3;  // crashes at each acquisition point, polled and unpolled

json StatusInput(const std::vector<std::string>& ids) {
  json requests = json::array();
  for (const auto& id : ids) requests.push_back({{"requestId", id}});
  return {{"requests", requests}};
}

void Sleep(int seconds) { std::this_thread::sleep_for(std::chrono::seconds(seconds)); }

class CrashTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    moto_ = testsupport::StartSharedMoto();
    ASSERT_NE(moto_, nullptr) << "moto_server did not start";
    EnvOptions options;
    options.store = GetParam();
    options.max_number = -1;
    options.log_level = "INFO";
    options.action_timeout_sec = kActionTimeoutSec;
    env_ = std::make_unique<HostFactoryEnv>(*moto_, options);
  }

  /// Every request id in the store.
  std::set<std::string> StoredIds() {
    auto store = OpenStore({GetParam(), env_->StorePath()});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    std::set<std::string> ids;
    if (!store.ok()) return ids;
    auto requests = (*store)->ScanRequests("", 100000);
    EXPECT_TRUE(requests.ok());
    for (const Request& r : *requests) ids.insert(r.request_id);
    return ids;
  }

  /// Runs `verb` killed at `point`, and returns the id of the request it
  /// left in the store ("" if it left none).
  std::string RunKilled(const std::string& verb, const json& input, const std::string& point) {
    std::set<std::string> before = StoredIds();
    RunResult r = env_->Script(verb, input, 60000, {{"OHFP_CRASH_AT", point}});
    EXPECT_EQ(r.term_signal, 9) << point << ": " << Describe(r);
    EXPECT_TRUE(r.stdout_text.empty()) << point << ": a killed call answered";
    ++crashes_;
    for (const auto& id : StoredIds()) {
      if (!before.count(id)) return id;
    }
    return "";
  }

  std::string Acquire(const std::string& point) {
    json input = {{"template", {{"templateId", "od-small"}, {"machineCount", kHostsPerRequest}}}};
    if (point.empty()) {
      RunResult r = env_->Script("requestMachines", input);
      EXPECT_EQ(r.exit_code, 0) << Describe(r);
      return StdoutJson(r).value("requestId", "");
    }
    return RunKilled("requestMachines", input, point);
  }

  /// Instances moto holds for each request tag, by state.
  std::map<std::string, std::map<std::string, std::set<std::string>>> CloudByRequest() {
    std::map<std::string, std::map<std::string, std::set<std::string>>> out;
    for (const auto& t : testsupport::ListTaggedInstances(*moto_)) {
      out[t.request_id][t.state].insert(t.instance_id);
    }
    return out;
  }

  /// Polls `id` as Host Factory does until it is final; returns the answer.
  json PollUntilFinal(const std::string& id) {
    json entry;
    for (int i = 0; i < 20; ++i) {
      RunResult r = env_->Script("getRequestStatus", StatusInput({id}));
      EXPECT_EQ(r.exit_code, 0) << Describe(r);
      entry = StdoutJson(r)["requests"][0];
      if (entry.value("status", "") != "running") return entry;
      Sleep(1);
    }
    return entry;
  }

  std::unique_ptr<testsupport::SharedMoto> moto_;
  std::unique_ptr<HostFactoryEnv> env_;
  int crashes_ = 0;
};

TEST_P(CrashTest, KilledAcquisitionsAreFoundCompletedOrAbandonedNeverDoubled) {
  const std::vector<std::string> points = {"request.recorded", "request.launched",
                                           "request.committed"};
  // For every point, one request whose id Host Factory learns some other way
  // (polled) and one it never learns (unpolled).
  std::map<std::string, std::string> polled, unpolled;  // "point #round" → request
  for (int round = 0; round < kRounds; ++round) {
    for (const auto& point : points) {
      std::string key = point + " #" + std::to_string(round);
      polled[key] = Acquire(point);
      ASSERT_FALSE(polled[key].empty()) << key << " left no request";
      // Polled at once, as Host Factory polls every id it holds.
      RunResult r = env_->Script("getRequestStatus", StatusInput({polled[key]}));
      ASSERT_EQ(r.exit_code, 0) << Describe(r);
      EXPECT_NE(StdoutJson(r)["requests"][0].value("status", ""), "complete_with_error") << key;
      unpolled[key] = Acquire(point);
      ASSERT_FALSE(unpolled[key].empty()) << key << " left no request";
    }
  }
  Sleep(kActionTimeoutSec + 1);

  // Every polled request ends complete with exactly the instances EC2 holds
  // for it: one set, whether it was adopted or launched after the crash.
  for (const auto& [point, id] : polled) {
    json entry = PollUntilFinal(id);
    EXPECT_EQ(entry.value("status", ""), "complete") << point << ": " << entry.dump();
    std::set<std::string> reported;
    for (const auto& m : entry["machines"]) reported.insert(m.value("machineId", ""));
    auto cloud = CloudByRequest()[id];
    EXPECT_EQ(reported, cloud["running"]) << point;
    EXPECT_EQ(cloud.size(), 1u) << point << ": instances in other states";
    EXPECT_EQ(reported.size(), static_cast<size_t>(kHostsPerRequest)) << point;
    // Polling again launches nothing more.
    EXPECT_EQ(PollUntilFinal(id).value("status", ""), "complete");
    EXPECT_EQ(CloudByRequest()[id]["running"].size(), static_cast<size_t>(kHostsPerRequest));
  }

  // Requests Host Factory never heard of are abandoned by whatever poll
  // comes after the window, and their instances end.
  Sleep(kAbandonAfterSec - kActionTimeoutSec);
  RunResult sweep = env_->Script("getRequestStatus", StatusInput({}));
  ASSERT_EQ(sweep.exit_code, 0) << Describe(sweep);
  auto cloud = CloudByRequest();
  for (const auto& [point, id] : unpolled) {
    EXPECT_TRUE(cloud[id]["running"].empty()) << point << ": unpolled request left hosts running";
    json entry = StdoutJson(env_->Cli({"getRequestStatus", "-r", id}))["requests"][0];
    EXPECT_EQ(entry.value("status", ""), "FAILED") << point << ": " << entry.dump();
  }

  // Nothing runs that no request owns.
  json strays = StdoutJson(env_->Cli({"reconcile"}));
  EXPECT_EQ(strays.value("count", -1), 0) << strays.dump();
  RecordProperty("crashes", crashes_);
}

TEST_P(CrashTest, KilledReturnsAreCompletedByTheNextCall) {
  const std::vector<std::string> points = {"return.recorded", "return.released",
                                           "return.committed"};
  std::map<std::string, std::string> acquired;  // point → request
  std::map<std::string, std::string> returns;   // point → return request
  for (const auto& point : points) {
    std::string id = Acquire("");
    json entry = PollUntilFinal(id);
    ASSERT_EQ(entry.value("status", ""), "complete") << entry.dump();
    json machines = json::array();
    for (const auto& m : entry["machines"]) {
      machines.push_back({{"name", m["name"]}, {"machineId", m["machineId"]}});
    }
    acquired[point] = id;
    returns[point] = RunKilled("requestReturnMachines", {{"machines", machines}}, point);
    ASSERT_FALSE(returns[point].empty()) << point << " left no return request";
  }

  // Nobody polls the returns (Host Factory never got their ids); the next
  // status call of any kind completes them.
  Sleep(kActionTimeoutSec + 1);
  for (int i = 0; i < 2; ++i) {
    RunResult r = env_->Script("getRequestStatus", StatusInput({}));
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }
  auto cloud = CloudByRequest();
  for (const auto& [point, id] : acquired) {
    EXPECT_TRUE(cloud[id]["running"].empty()) << point << ": returned hosts still run";
    json entry = StdoutJson(env_->Cli({"getRequestStatus", "-r", returns[point]}))["requests"][0];
    EXPECT_EQ(entry.value("status", ""), "COMPLETED") << point << ": " << entry.dump();
  }
}

TEST_P(CrashTest, ReconcileFindsAndEndsInstancesOfALostStore) {
  std::string id = Acquire("");
  ASSERT_EQ(PollUntilFinal(id).value("status", ""), "complete");
  json clean = StdoutJson(env_->Cli({"reconcile"}));
  EXPECT_EQ(clean.value("count", -1), 0) << clean.dump();
  EXPECT_EQ(clean.value("checked", -1), kHostsPerRequest) << clean.dump();

  // The state is lost (a wiped work directory): the hosts run on, owned by
  // nothing this store knows.
  std::filesystem::remove_all(env_->workdir() + "/data");
  json found = StdoutJson(env_->Cli({"reconcile"}));
  ASSERT_EQ(found.value("count", -1), kHostsPerRequest) << found.dump();
  for (const auto& s : found["strays"]) EXPECT_EQ(s.value("request_id", ""), id);
  EXPECT_EQ(CloudByRequest()[id]["running"].size(), static_cast<size_t>(kHostsPerRequest));

  json ended = StdoutJson(env_->Cli({"reconcile", "--clean"}));
  EXPECT_EQ(ended.value("terminated", false), true) << ended.dump();
  EXPECT_TRUE(CloudByRequest()[id]["running"].empty());
  EXPECT_EQ(StdoutJson(env_->Cli({"reconcile"})).value("count", -1), 0);
}

TEST_P(CrashTest, KilledStatusPollLosesNothing) {
  std::string id = Acquire("");
  RunResult killed = env_->Script("getRequestStatus", StatusInput({id}), 60000,
                                  {{"OHFP_CRASH_AT", "status.refreshed"}});
  EXPECT_EQ(killed.term_signal, 9) << Describe(killed);
  json entry = PollUntilFinal(id);
  EXPECT_EQ(entry.value("status", ""), "complete") << entry.dump();
  EXPECT_EQ(entry["machines"].size(), static_cast<size_t>(kHostsPerRequest));
  EXPECT_EQ(CloudByRequest()[id]["running"].size(), static_cast<size_t>(kHostsPerRequest));
}

TEST(CrashPointTest, EveryPointIsCoveredByACrashTest) {
  // The tests above name these; a new point must join one of them.
  const std::set<std::string> covered = {
      "request.recorded", "request.launched", "request.committed", "return.recorded",
      "return.released",  "return.committed", "status.refreshed"};
  std::set<std::string> points(kCrashPoints, kCrashPoints + kCrashPointCount);
  EXPECT_EQ(points, covered);
}

INSTANTIATE_TEST_SUITE_P(Stores, CrashTest, ::testing::ValuesIn(testsupport::kStoreBackEnds));

}  // namespace
}  // namespace ohfp
