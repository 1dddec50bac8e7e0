// kill -9 at random moments while a process writes: afterwards the store must
// open, read, and hold every change the writer had seen committed, and each
// multi-record change must be all there or not at all.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <sstream>
#include <thread>

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

constexpr int kKills = 40;
constexpr auto kTimeBudget = std::chrono::seconds(8);

std::string RequestId(int n) { return "req-" + std::to_string(n); }
std::string MachineId(int n) { return "i-" + std::to_string(n); }

// The writer: for each n from `first`, creates acquisition n (checked against
// a limit, so HeldCount runs too), then commits its machine and its new state
// together, and reports each step on `fd` only after the store call returned.
int WriteUntilKilled(Store& store, int first, int fd) {
  for (int n = first;; ++n) {
    if (!store.CreateAcquireRequest(MakeRequest(RequestId(n), "t", 1), 1000000).ok()) return 3;
    std::string line = "request " + std::to_string(n) + "\n";
    if (::write(fd, line.data(), line.size()) < 0) return 4;

    Request started = MakeRequest(RequestId(n), "t", 1, RequestState::kComplete);
    started.handles = {{"reservation_ids", {"r-" + std::to_string(n)}}};
    if (!store.Commit({{started}, {MakeMachine(MachineId(n), RequestId(n), "t")}}).ok()) return 5;
    line = "machine " + std::to_string(n) + "\n";
    if (::write(fd, line.data(), line.size()) < 0) return 4;
  }
}

class StoreCrashTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  store_testing::ScratchDir dir_;
};

TEST_P(StoreCrashTest, KillNineLosesNoCommittedChange) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_us(0, 60000);
  std::set<int> requests_done, machines_done;
  auto start = std::chrono::steady_clock::now();
  int kills = 0;

  for (int round = 0; round < kKills; ++round) {
    if (std::chrono::steady_clock::now() - start > kTimeBudget) break;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const int first = round * 100000;
    pid_t pid = ForkChild([&] {
      ::close(fds[0]);
      auto store = GetParam().open(dir_.path());
      if (!store.ok()) return 2;
      return WriteUntilKilled(**store, first, fds[1]);
    });
    ASSERT_GT(pid, 0);
    ::close(fds[1]);

    // The random delay starts once the writer reports its first change, so
    // kills land among the writes however slowly the store opens (an ASan
    // build opens the JSON store slower than the whole delay range).
    std::string reported;
    char buf[4096];
    ssize_t n;
    while (reported.find('\n') == std::string::npos && (n = ::read(fds[0], buf, sizeof buf)) > 0) {
      reported.append(buf, n);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ::kill(pid, SIGKILL);
    int code = WaitChild(pid);
    ASSERT_EQ(code, 128 + SIGKILL) << "the writer stopped by itself in round " << round;
    ++kills;

    // Only whole lines count: the writer may die in the middle of one.
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) reported.append(buf, n);
    ::close(fds[0]);
    std::istringstream lines(reported.substr(0, reported.rfind('\n') + 1));
    std::string what;
    int id;
    while (lines >> what >> id) (what == "request" ? requests_done : machines_done).insert(id);

    auto store = GetParam().open(dir_.path());
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status().ToString();
    auto all_requests = (*store)->ScanRequests("", 0);
    auto all_machines = (*store)->ScanMachines("", 0);
    ASSERT_TRUE(all_requests.ok()) << all_requests.status().ToString();
    ASSERT_TRUE(all_machines.ok()) << all_machines.status().ToString();

    std::set<std::string> stored_requests, stored_machines;
    for (const Request& r : *all_requests) stored_requests.insert(r.request_id);
    for (const Machine& m : *all_machines) stored_machines.insert(m.machine_id);
    for (int done : requests_done) {
      ASSERT_EQ(stored_requests.count(RequestId(done)), 1u) << "round " << round;
    }
    for (int done : machines_done) {
      ASSERT_EQ(stored_machines.count(MachineId(done)), 1u) << "round " << round;
    }
    // The machine and the request state were one commit: both or neither.
    for (const Request& r : *all_requests) {
      bool has_machine = stored_machines.count("i-" + r.request_id.substr(4)) == 1;
      ASSERT_EQ(has_machine, r.state == RequestState::kComplete) << r.request_id;
      if (has_machine) {
        ASSERT_FALSE(r.handles.empty()) << r.request_id;
      }
    }
    // Anything stored beyond the reports is at most the one change in flight
    // per killed writer.
    ASSERT_LE(stored_requests.size(), requests_done.size() + kills);
    ASSERT_LE(stored_machines.size(), machines_done.size() + kills);
  }
  EXPECT_GE(kills, 10);
  // The kills must have landed among the writes, not all before the first one.
  EXPECT_GT(machines_done.size(), 20u);
  RecordProperty("kills", kills);
  RecordProperty("commits_reported", static_cast<int>(machines_done.size()));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreCrashTest,
                         ::testing::ValuesIn(store_testing::StoreBackends()),
                         store_testing::BackendName);

}  // namespace
}  // namespace ohfp
