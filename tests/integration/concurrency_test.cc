// Host Factory runs scripts concurrently and kills them at its action
// timeout: no request or machine may be lost or duplicated, for every store.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "store/store.h"
#include "support/fault_proxy.h"
#include "support/hostfactory_env.h"

namespace ohfp {
namespace {

using json = nlohmann::json;
using testsupport::Describe;
using testsupport::EnvOptions;
using testsupport::HostFactoryEnv;
using testsupport::RunResult;
using testsupport::StdoutJson;

class ConcurrencyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    moto_ = testsupport::StartSharedMoto();
    ASSERT_NE(moto_, nullptr) << "moto_server did not start";
    // The processes reach moto through a proxy that injects nothing; it only
    // keeps moto's RunInstances from running two at a time (a moto race:
    // FaultProxy::SendOneAtATime), which made about one run in thirty fail
    // on a half-made reservation EC2 would never return.
    proxy_ = testsupport::FaultProxy::Start(moto_->server->port(), /*seed=*/1);
    ASSERT_NE(proxy_, nullptr);
    proxy_->SendOneAtATime({"RunInstances"});
  }

  EnvOptions Options() const {
    EnvOptions options;
    options.store = GetParam();
    options.log_level = "INFO";
    options.endpoint_override = proxy_->endpoint();
    return options;
  }

  /// Checks the store against the cloud: every tagged instance belongs to a
  /// recorded request, each request has exactly its count of machines, and
  /// every request is final and complete. Returns the number of requests
  /// (acquisitions and returns).
  size_t CheckNothingLostOrDuplicated(const HostFactoryEnv& env) {
    auto store = OpenStore({GetParam(), env.StorePath()});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return 0;
    auto requests = (*store)->ScanRequests("", 100000);
    auto machines = (*store)->ScanMachines("", 100000);
    EXPECT_TRUE(requests.ok() && machines.ok());
    std::map<std::string, int64_t> wanted;
    for (const Request& r : *requests) {
      if (r.kind == RequestKind::kAcquire) wanted[r.request_id] = r.machine_count;
    }
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
    return requests->size();
  }

  std::unique_ptr<testsupport::SharedMoto> moto_;
  std::unique_ptr<testsupport::FaultProxy> proxy_;
};

TEST_P(ConcurrencyTest, ThirtyTwoConcurrentRequestsAreAllKeptOnce) {
  EnvOptions options = Options();
  options.max_number = -1;
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

// Host Factory's five verbs at once, as a busy cluster runs them: new
// requests, status polls, returns, reclaim checks and template listings.
TEST_P(ConcurrencyTest, SixtyFourConcurrentMixedVerbsLoseAndDuplicateNothing) {
  EnvOptions options = Options();
  options.max_number = -1;
  HostFactoryEnv env(*moto_, options);
  constexpr int kRounds = 2;
  constexpr int kAcquires = 24, kPolls = 16, kReturns = 8, kReclaims = 8, kListings = 8;
  constexpr int kProcesses = kAcquires + kPolls + kReturns + kReclaims + kListings;
  static_assert(kProcesses == 64);
  const json acquire = {{"template", {{"templateId", "od-small"}, {"machineCount", 2}}}};

  std::vector<std::string> all_requests, all_returns;
  std::set<std::string> returned_hosts;
  for (int round = 0; round < kRounds; ++round) {
    // Hosts to give back during the round: kReturns requests of 2, complete.
    std::vector<json> to_return;
    for (int i = 0; i < kReturns; ++i) {
      RunResult r = env.Script("requestMachines", acquire);
      std::string id = StdoutJson(r).value("requestId", "");
      ASSERT_FALSE(id.empty()) << Describe(r);
      all_requests.push_back(id);
      json status =
          StdoutJson(env.Script("getRequestStatus", {{"requests", {{{"requestId", id}}}}}));
      json machines = json::array();
      for (const json& m : status["requests"][0]["machines"]) {
        machines.push_back({{"name", m["name"]}, {"machineId", m["machineId"]}});
        returned_hosts.insert(m["machineId"].get<std::string>());
      }
      ASSERT_EQ(machines.size(), 2u) << status.dump();
      to_return.push_back({{"machines", machines}});
    }
    json known = json::array();
    for (const auto& id : all_requests) known.push_back({{"requestId", id}});

    std::vector<std::pair<std::string, json>> calls;
    for (int i = 0; i < kAcquires; ++i) calls.push_back({"requestMachines", acquire});
    for (int i = 0; i < kPolls; ++i) calls.push_back({"getRequestStatus", {{"requests", known}}});
    for (int i = 0; i < kReturns; ++i) calls.push_back({"requestReturnMachines", to_return[i]});
    for (int i = 0; i < kReclaims; ++i) {
      calls.push_back({"getReturnRequests", i % 2 ? json::object() : to_return[i]});
    }
    for (int i = 0; i < kListings; ++i) calls.push_back({"getAvailableTemplates", json::object()});
    std::mt19937 shuffle(round);
    std::shuffle(calls.begin(), calls.end(), shuffle);

    std::vector<RunResult> results(calls.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < calls.size(); ++i) {
      threads.emplace_back(
          [&, i] { results[i] = env.Script(calls[i].first, calls[i].second, 120000); });
    }
    for (auto& t : threads) t.join();

    for (size_t i = 0; i < calls.size(); ++i) {
      const RunResult& r = results[i];
      ASSERT_EQ(r.exit_code, 0) << calls[i].first << ": " << Describe(r);
      json answer = StdoutJson(r);
      if (calls[i].first == "requestMachines")
        all_requests.push_back(answer.value("requestId", ""));
      if (calls[i].first == "requestReturnMachines") {
        all_returns.push_back(answer.value("requestId", ""));
      }
      if (calls[i].first == "getRequestStatus") {
        EXPECT_EQ(answer["requests"].size(), known.size()) << r.stdout_text;
      }
      if (calls[i].first == "getAvailableTemplates") {
        EXPECT_FALSE(answer["templates"].empty());
      }
    }
  }

  // Every request and return ends complete, each exactly once.
  std::set<std::string> unique(all_requests.begin(), all_requests.end());
  unique.insert(all_returns.begin(), all_returns.end());
  EXPECT_EQ(unique.size(), all_requests.size() + all_returns.size());
  EXPECT_EQ(all_requests.size(), static_cast<size_t>(kRounds * (kAcquires + kReturns)));
  json everything = json::array();
  for (const auto& id : unique) everything.push_back({{"requestId", id}});
  json final_status;
  for (int attempt = 0; attempt < 10; ++attempt) {
    final_status = StdoutJson(env.Script("getRequestStatus", {{"requests", everything}}));
    bool running = false;
    for (const json& r : final_status["requests"]) running |= r["status"] == "running";
    if (!running) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_EQ(final_status["requests"].size(), unique.size());
  for (const json& r : final_status["requests"]) EXPECT_EQ(r["status"], "complete") << r.dump();

  // The cloud agrees: returned hosts ended, the others run, none unknown.
  for (const auto& t : testsupport::ListTaggedInstances(*moto_)) {
    bool returned = returned_hosts.count(t.instance_id) > 0;
    EXPECT_EQ(t.state, returned ? "terminated" : "running") << t.instance_id;
  }
  EXPECT_EQ(CheckNothingLostOrDuplicated(env), all_requests.size() + all_returns.size());
  json stuck = StdoutJson(env.Cli({"getRequestStatus", "--all"}));
  EXPECT_TRUE(stuck["requests"].empty()) << stuck.dump();
}

TEST_P(ConcurrencyTest, ConcurrentRequestsNeverExceedMaxNumber) {
  EnvOptions options = Options();
  options.max_number = 10;
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
  EnvOptions options = Options();
  options.max_number = -1;
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

INSTANTIATE_TEST_SUITE_P(Stores, ConcurrencyTest, ::testing::ValuesIn(testsupport::kStoreBackEnds));

}  // namespace
}  // namespace ohfp
