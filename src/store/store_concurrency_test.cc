// Many processes, each with its own store connection, working on one store at
// once: nothing may be lost or doubled, and the template limit must hold.

#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

#include "store/store.h"
#include "store/store_testing.h"

namespace ohfp {
namespace {

using store_testing::ForkChild;
using store_testing::MakeMachine;
using store_testing::MakeRequest;
using store_testing::StoreBackend;
using store_testing::WaitChild;

constexpr int kProcesses = 32;

// Exit codes of the workers.
constexpr int kWorkerOk = 0;
constexpr int kWorkerOpenFailed = 2;
constexpr int kWorkerWriteFailed = 3;
constexpr int kWorkerLimited = 10;

// Releases all workers at once so that they really contend: each blocks
// reading the pipe until the parent closes its end.
class StartGate {
 public:
  StartGate() {
    if (::pipe(fds_) != 0) std::abort();
  }
  ~StartGate() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  StartGate(const StartGate&) = delete;
  StartGate& operator=(const StartGate&) = delete;

  /// In a worker: waits until Open() in the parent.
  void Wait() {
    ::close(fds_[1]);
    char c;
    while (::read(fds_[0], &c, 1) > 0) {
    }
  }
  /// In the parent, once every worker is forked.
  void Open() {
    ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2];
};

class StoreConcurrencyTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  /// Runs `work(index)` in kProcesses forked processes started together and
  /// returns their exit codes.
  std::vector<int> RunWorkers(const std::function<int(Store&, int)>& work) {
    StartGate gate;
    std::vector<pid_t> pids;
    for (int i = 0; i < kProcesses; ++i) {
      pids.push_back(ForkChild([&, i] {
        gate.Wait();
        // Opening concurrently is part of the test: the first open creates
        // the store while others try to open it too.
        auto store = GetParam().open(dir_.path());
        if (!store.ok()) return kWorkerOpenFailed;
        return work(**store, i);
      }));
      if (pids.back() < 0) ADD_FAILURE() << "fork failed";
    }
    gate.Open();
    std::vector<int> codes;
    for (pid_t pid : pids) codes.push_back(pid > 0 ? WaitChild(pid) : -1);
    return codes;
  }

  std::unique_ptr<Store> OpenHere() {
    auto store = GetParam().open(dir_.path());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  store_testing::ScratchDir dir_;
};

TEST_P(StoreConcurrencyTest, ConcurrentWritersLoseNothingAndDoubleNothing) {
  constexpr int kRequestsEach = 4;
  constexpr int kMachinesEach = 2;
  std::vector<int> codes = RunWorkers([](Store& store, int worker) {
    for (int k = 0; k < kRequestsEach; ++k) {
      std::string id = "req-" + std::to_string(worker) + "-" + std::to_string(k);
      if (!store.CreateAcquireRequest(MakeRequest(id, "t", kMachinesEach), -1).ok()) {
        return kWorkerWriteFailed;
      }
      StoreChange change;
      change.requests.push_back(MakeRequest(id, "t", kMachinesEach, RequestState::kInProgress));
      for (int m = 0; m < kMachinesEach; ++m) {
        change.machines.push_back(MakeMachine("i-" + id + "-" + std::to_string(m), id, "t"));
      }
      if (!store.Commit(change).ok()) return kWorkerWriteFailed;
    }
    return kWorkerOk;
  });
  for (int i = 0; i < kProcesses; ++i) EXPECT_EQ(codes[i], kWorkerOk) << "worker " << i;

  auto store = OpenHere();
  ASSERT_NE(store, nullptr);
  auto requests = store->ScanRequests("", 0);
  auto machines = store->ScanMachines("", 0);
  ASSERT_TRUE(requests.ok() && machines.ok());
  std::multiset<std::string> request_ids, machine_ids;
  for (const Request& r : *requests) {
    request_ids.insert(r.request_id);
    EXPECT_EQ(r.state, RequestState::kInProgress) << r.request_id;
  }
  for (const Machine& m : *machines) machine_ids.insert(m.machine_id);
  for (int w = 0; w < kProcesses; ++w) {
    for (int k = 0; k < kRequestsEach; ++k) {
      std::string id = "req-" + std::to_string(w) + "-" + std::to_string(k);
      EXPECT_EQ(request_ids.count(id), 1u) << id;
      for (int m = 0; m < kMachinesEach; ++m) {
        EXPECT_EQ(machine_ids.count("i-" + id + "-" + std::to_string(m)), 1u) << id;
      }
    }
  }
  EXPECT_EQ(*store->CountRequests(), kProcesses * kRequestsEach);
  EXPECT_EQ(*store->CountMachines(), kProcesses * kRequestsEach * kMachinesEach);
  EXPECT_EQ(*store->HeldCount("t"), kProcesses * kRequestsEach * kMachinesEach);
}

TEST_P(StoreConcurrencyTest, ConcurrentAcquisitionsNeverPassTheLimit) {
  constexpr int kMax = 14;
  constexpr int kAlreadyHeld = 4;
  {
    // Hosts already held count against the limit too.
    auto store = OpenHere();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(
        store->Commit({{MakeRequest("req-old", "t", kAlreadyHeld, RequestState::kInProgress)}, {}})
            .ok());
  }  // closed before forking: children never share the parent's connection

  std::vector<int> codes = RunWorkers([](Store& store, int worker) {
    Status s =
        store.CreateAcquireRequest(MakeRequest("req-" + std::to_string(worker), "t", 1), kMax);
    if (s.ok()) return kWorkerOk;
    if (s.code() == ErrorCode::kResourceLimitExceeded) return kWorkerLimited;
    return kWorkerWriteFailed;
  });
  int granted = 0, limited = 0;
  for (int code : codes) {
    granted += code == kWorkerOk;
    limited += code == kWorkerLimited;
  }
  EXPECT_EQ(granted, kMax - kAlreadyHeld);
  EXPECT_EQ(limited, kProcesses - (kMax - kAlreadyHeld));

  auto store = OpenHere();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->HeldCount("t"), kMax);
  EXPECT_EQ(*store->CountRequests(), 1 + kMax - kAlreadyHeld);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConcurrencyTest,
                         ::testing::ValuesIn(store_testing::StoreBackends()),
                         store_testing::BackendName);

}  // namespace
}  // namespace ohfp
