// Host Factory runs scripts concurrently and kills them at its action
// timeout: no request or machine may be lost or duplicated, for every store.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

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

/// Every store back end joins these tests by being listed here.
const std::vector<std::string> kStores = {"sqlite", "json"};

std::string StorePath(const HostFactoryEnv& env, const std::string& type) {
  return type == "json" ? env.workdir() + "/data/request_database.json"
                        : env.workdir() + "/data/ohfp.db";
}

class ConcurrencyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    moto_ = testsupport::StartSharedMoto();
    ASSERT_NE(moto_, nullptr) << "moto_server did not start";
  }

  /// Checks the store against the cloud: every tagged instance belongs to a
  /// recorded request, each request has exactly its count of machines, and
  /// every request is final and complete. Returns the number of requests.
  size_t CheckNothingLostOrDuplicated(const HostFactoryEnv& env) {
    auto store = OpenStore({GetParam(), StorePath(env, GetParam())});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return 0;
    auto requests = (*store)->ScanRequests("", 100000);
    auto machines = (*store)->ScanMachines("", 100000);
    EXPECT_TRUE(requests.ok() && machines.ok());
    std::map<std::string, int64_t> wanted;
    for (const Request& r : *requests) wanted[r.request_id] = r.machine_count;
    std::map<std::string, int64_t> recorded;
    for (const Machine& m : *machines) ++recorded[m.request_id];

    std::map<std::string, int64_t> in_cloud;
    for (const auto& t : testsupport::ListTaggedInstances(*moto_)) {
      EXPECT_TRUE(wanted.count(t.request_id)) << t.instance_id << " of unknown " << t.request_id;
      ++in_cloud[t.request_id];
    }
    for (const auto& [id, n] : wanted) {
      EXPECT_EQ(in_cloud[id], n) << id << " instances in the cloud";
      EXPECT_EQ(recorded[id], n) << id << " machines in the store";
    }
    return wanted.size();
  }

  std::unique_ptr<testsupport::SharedMoto> moto_;
};

TEST_P(ConcurrencyTest, ThirtyTwoConcurrentRequestsAreAllKeptOnce) {
  EnvOptions options;
  options.store = GetParam();
  options.max_number = -1;
  options.log_level = "INFO";
  HostFactoryEnv env(*moto_, options);
  constexpr int kProcesses = 32;

  std::vector<std::thread> threads;
  std::vector<RunResult> results(kProcesses);
  for (int i = 0; i < kProcesses; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          env.Script("requestMachines",
                     {{"template", {{"templateId", "od-small"}, {"machineCount", 2}}}}, 120000);
    });
  }
  for (auto& t : threads) t.join();

  std::set<std::string> ids;
  json requests = json::array();
  for (const RunResult& r : results) {
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    std::string id = StdoutJson(r).value("requestId", "");
    ASSERT_FALSE(id.empty()) << r.stdout_text;
    ids.insert(id);
    requests.push_back({{"requestId", id}});
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kProcesses));

  RunResult status = env.Script("getRequestStatus", {{"requests", requests}});
  json s = StdoutJson(status);
  ASSERT_EQ(s["requests"].size(), static_cast<size_t>(kProcesses)) << Describe(status);
  std::set<std::string> machines;
  for (const json& r : s["requests"]) {
    EXPECT_EQ(r["status"], "complete") << r.dump();
    for (const json& m : r["machines"]) machines.insert(m["machineId"].get<std::string>());
  }
  EXPECT_EQ(machines.size(), static_cast<size_t>(2 * kProcesses));
  EXPECT_EQ(CheckNothingLostOrDuplicated(env), static_cast<size_t>(kProcesses));
}

TEST_P(ConcurrencyTest, ConcurrentRequestsNeverExceedMaxNumber) {
  EnvOptions options;
  options.store = GetParam();
  options.max_number = 10;
  options.log_level = "INFO";
  HostFactoryEnv env(*moto_, options);
  std::vector<std::thread> threads;
  std::vector<RunResult> results(24);
  for (int i = 0; i < 24; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          env.Script("requestMachines",
                     {{"template", {{"templateId", "od-small"}, {"machineCount", 1}}}}, 120000);
    });
  }
  for (auto& t : threads) t.join();
  int accepted = 0, refused = 0;
  for (const RunResult& r : results) {
    json j = StdoutJson(r);
    if (r.exit_code == 0 && j.contains("requestId")) {
      ++accepted;
    } else {
      EXPECT_EQ(j["error_code"], "RESOURCE_LIMIT_EXCEEDED") << Describe(r);
      ++refused;
    }
  }
  EXPECT_EQ(accepted, 10);
  EXPECT_EQ(refused, 14);
}

TEST_P(ConcurrencyTest, KilledRequestsAreRecoveredNeverLaunchedTwice) {
  EnvOptions options;
  options.store = GetParam();
  options.max_number = -1;
  options.log_level = "INFO";
  options.action_timeout_sec = 4;  // orphaned launches are retried after this
  HostFactoryEnv env(*moto_, options);

  std::mt19937 random(12345);
  constexpr int kRounds = 16;
  std::string input = env.root() + "/kill_in.json";
  {
    FILE* f = std::fopen(input.c_str(), "w");
    std::fputs(R"({"template": {"templateId": "od-small", "machineCount": 2}})", f);
    std::fclose(f);
  }
  for (int i = 0; i < kRounds; ++i) {
    pid_t pid =
        testsupport::SpawnProcess({env.ScriptPath("requestMachines"), "-f", input}, env.Env());
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 120));
    ::kill(pid, SIGKILL);
    testsupport::WaitForExit(pid, 10000);
  }

  // Past the action timeout every orphan is found by tag or launched again.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  RunResult status = env.Cli({"getRequestStatus", "--all"});
  ASSERT_EQ(status.exit_code, 0) << Describe(status);
  json after = StdoutJson(env.Cli({"getRequestStatus", "--all"}));
  EXPECT_TRUE(after["requests"].empty()) << after.dump();
  CheckNothingLostOrDuplicated(env);
}

INSTANTIATE_TEST_SUITE_P(Stores, ConcurrencyTest, ::testing::ValuesIn(kStores));

}  // namespace
}  // namespace ohfp
