// The behaviour every Store back end must show. A new back end runs all of
// it by adding one entry to StoreBackends() in store_testing.h.

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "store/store.h"
#include "store/store_testing.h"

namespace ohfp {
namespace {

using store_testing::Filter;
using store_testing::MakeMachine;
using store_testing::MakeRequest;
using store_testing::MakeReturn;
using store_testing::StoreBackend;

std::vector<std::string> RequestIds(const std::vector<Request>& rs) {
  std::vector<std::string> ids;
  for (const Request& r : rs) ids.push_back(r.request_id);
  return ids;
}

std::vector<std::string> MachineIds(const std::vector<Machine>& ms) {
  std::vector<std::string> ids;
  for (const Machine& m : ms) ids.push_back(m.machine_id);
  return ids;
}

class StoreConformanceTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override { store_ = Open(); }

  std::unique_ptr<Store> Open() {
    auto store = GetParam().open(dir_.path());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  void CommitOk(StoreChange change) {
    Status s = store_->Commit(change);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  store_testing::ScratchDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, ReportsItsTypeName) { EXPECT_EQ(store_->TypeName(), GetParam().name); }

TEST_P(StoreConformanceTest, CreatesPrivateFilesInPrivateDirectories) {
  CommitOk({{MakeRequest("req-1", "t", 1)}, {MakeMachine("i-1", "req-1", "t")}});
  for (const std::string& file : GetParam().files) {
    EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/" + file)) << file;
  }
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    struct stat st;
    ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
    int expected = S_ISDIR(st.st_mode) ? 0700 : 0600;
    EXPECT_EQ(st.st_mode & 0777, expected) << entry.path();
    ++checked;
  }
  if (!GetParam().files.empty()) {
    EXPECT_GT(checked, 1);
  }
}

TEST_P(StoreConformanceTest, CommitUpsertsByIdAndLeavesOthersAlone) {
  CommitOk({{MakeRequest("req-a", "t", 1), MakeRequest("req-b", "t", 2)},
            {MakeMachine("i-1", "req-a", "t"), MakeMachine("i-2", "req-b", "t")}});
  Request a = MakeRequest("req-a", "t", 1, RequestState::kComplete);
  a.message = "done";
  a.completed_at = 2000;
  Machine m1 = MakeMachine("i-1", "req-a", "t", "terminated");
  CommitOk({{a}, {m1}});

  auto rs = store_->GetRequests({"req-a", "req-b"});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  ASSERT_EQ(rs->size(), 2u);
  EXPECT_EQ((*rs)[0], a);
  EXPECT_EQ((*rs)[1], MakeRequest("req-b", "t", 2));
  auto ms = store_->GetMachines({"i-1", "i-2"});
  ASSERT_TRUE(ms.ok());
  ASSERT_EQ(ms->size(), 2u);
  EXPECT_EQ((*ms)[0], m1);
  EXPECT_EQ((*ms)[1], MakeMachine("i-2", "req-b", "t"));
  EXPECT_EQ(*store_->CountRequests(), 2);
  EXPECT_EQ(*store_->CountMachines(), 2);
}

// Two processes: a poll reads i-1, a return marks it, then the poll writes
// what EC2 said of it. The mark must survive.
TEST_P(StoreConformanceTest, CommitWithoutAReturnIdKeepsTheOneStored) {
  Machine read_by_poll = MakeMachine("i-1", "req-a", "t", "pending");
  CommitOk({{}, {read_by_poll}});
  Machine returned = read_by_poll;
  returned.return_request_id = "ret-1";
  CommitOk({{}, {returned}});

  Machine observed = read_by_poll;
  observed.state = "running";
  observed.updated_at += 30;
  CommitOk({{}, {observed}});
  auto ms = store_->GetMachines({"i-1"});
  ASSERT_TRUE(ms.ok());
  ASSERT_EQ(ms->size(), 1u);
  EXPECT_EQ((*ms)[0].state, "running") << "the observation is written";
  EXPECT_EQ((*ms)[0].return_request_id, "ret-1") << "the return's mark is kept";

  Machine other_return = observed;
  other_return.return_request_id = "ret-2";
  CommitOk({{}, {other_return}});
  ms = store_->GetMachines({"i-1"});
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ((*ms)[0].return_request_id, "ret-2") << "a new mark replaces it";
}

TEST_P(StoreConformanceTest, EmptyCommitIsANoOp) {
  EXPECT_TRUE(store_->Commit({}).ok());
  EXPECT_EQ(*store_->CountRequests(), 0);
}

TEST_P(StoreConformanceTest, CommitRejectsRecordsWithoutIdsAndWritesNothing) {
  Status s = store_->Commit({{MakeRequest("req-ok", "t", 1), MakeRequest("", "t", 1)}, {}});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidRequest);
  s = store_->Commit({{MakeRequest("req-ok", "t", 1)}, {MakeMachine("", "req-ok", "t")}});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(*store_->CountRequests(), 0);
  EXPECT_EQ(*store_->CountMachines(), 0);
}

TEST_P(StoreConformanceTest, EveryFieldSurvivesAReopen) {
  Request r = MakeRequest("req-full", "tmpl-1", 7, RequestState::kPartial, 1700000000);
  r.provider_api = "EC2Fleet";
  r.message = "2 of 7 arrived: InsufficientInstanceCapacity \"quoted\" \\ ünïcode";
  r.client_token = "tok-123";
  r.handles = {{"fleet_id", "fleet-abc"},
               {"reservation_ids", {"r-1", "r-2"}},
               {"nested", {{"n", 3}, {"neg", -4}, {"flag", true}}}};
  r.updated_at = 1700000100;
  r.completed_at = 1700000200;
  r.launch_attempts = 3;
  Request ret = MakeReturn("ret-full", {"i-3", "i-1", "i-2"}, 1700000300);
  ret.state = RequestState::kInProgress;
  Machine m = MakeMachine("i-1", "req-full", "tmpl-1", "stopped");
  m.return_request_id = "ret-full";
  m.state_reason = "Client.UserInitiatedShutdown";
  m.private_ip = "10.0.0.5";
  m.public_ip = "54.1.2.3";
  m.instance_type = "m5.large";
  m.price_type = "spot";
  m.launch_time = 1700000050;
  m.updated_at = 1700000150;
  CommitOk({{r, ret}, {m}});

  store_.reset();
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  auto rs = store_->GetRequests({"req-full", "ret-full"});
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  ASSERT_EQ(rs->size(), 2u);
  EXPECT_EQ((*rs)[0], r);
  EXPECT_EQ((*rs)[1], ret);
  EXPECT_EQ((*rs)[1].machine_ids, (std::vector<std::string>{"i-3", "i-1", "i-2"}));
  EXPECT_EQ((*rs)[0].handles["reservation_ids"][1], "r-2");
  auto ms = store_->GetMachines({"i-1"});
  ASSERT_TRUE(ms.ok());
  ASSERT_EQ(ms->size(), 1u);
  EXPECT_EQ((*ms)[0], m);
}

TEST_P(StoreConformanceTest, GetRequestsKeepsTheAskedOrderAndSkipsUnknownIds) {
  CommitOk(
      {{MakeRequest("req-a", "t", 1), MakeRequest("req-b", "t", 1), MakeRequest("req-c", "t", 1)},
       {}});
  auto rs = store_->GetRequests({"req-c", "req-missing", "req-a", "req-c"});
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(RequestIds(*rs), (std::vector<std::string>{"req-c", "req-a"}));
  auto none = store_->GetRequests({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformanceTest, LookupsAcceptMoreIdsThanOneBatch) {
  // 1,200 ids cross the 500-id chunking of the SQLite back end twice.
  StoreChange change;
  std::vector<std::string> ids;
  for (int i = 0; i < 1200; ++i) {
    std::string id = "req-" + std::to_string(100000 + i);
    change.requests.push_back(MakeRequest(id, "t", 1));
    change.machines.push_back(MakeMachine("i-" + std::to_string(100000 + i), id, "t"));
    ids.push_back(id);
  }
  CommitOk(change);
  std::mt19937 rng(7);
  std::shuffle(ids.begin(), ids.end(), rng);
  ids.insert(ids.begin() + 600, "req-missing");

  auto rs = store_->GetRequests(ids);
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  ids.erase(ids.begin() + 600);
  EXPECT_EQ(RequestIds(*rs), ids);

  auto ms = store_->MachinesOfRequests(ids);
  ASSERT_TRUE(ms.ok());
  ASSERT_EQ(ms->size(), 1200u);
  EXPECT_TRUE(std::is_sorted(ms->begin(), ms->end(), [](const Machine& a, const Machine& b) {
    return a.request_id < b.request_id;
  }));

  std::vector<std::string> machine_ids;
  for (int i = 1199; i >= 0; --i) machine_ids.push_back("i-" + std::to_string(100000 + i));
  auto byid = store_->GetMachines(machine_ids);
  ASSERT_TRUE(byid.ok());
  EXPECT_EQ(MachineIds(*byid), machine_ids);
}

TEST_P(StoreConformanceTest, ListRequestsFiltersAndOrdersNewestFirst) {
  CommitOk({{MakeRequest("req-1", "t1", 1, RequestState::kComplete, 100),
             MakeRequest("req-2", "t2", 1, RequestState::kPending, 200),
             MakeRequest("req-3", "t1", 1, RequestState::kInProgress, 300),
             MakeRequest("req-4", "t1", 1, RequestState::kFailed, 300),
             MakeRequest("req-5", "t1", 1, RequestState::kPartial, 50),
             MakeReturn("ret-1", {"i-1"}, 250), MakeReturn("ret-2", {"i-2"}, 400)},
            {}});
  Request done_return = MakeReturn("ret-3", {"i-3"}, 10);
  done_return.state = RequestState::kComplete;
  CommitOk({{done_return}, {}});

  auto list = [&](RequestFilter f) {
    auto rs = store_->ListRequests(f);
    EXPECT_TRUE(rs.ok()) << rs.status().ToString();
    return rs.ok() ? RequestIds(*rs) : std::vector<std::string>{};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list(RequestFilter{}),
            (V{"ret-2", "req-4", "req-3", "ret-1", "req-2", "req-1", "req-5", "ret-3"}));
  EXPECT_EQ(list(Filter(RequestKind::kAcquire, false)),
            (V{"req-4", "req-3", "req-2", "req-1", "req-5"}));
  EXPECT_EQ(list(Filter(RequestKind::kReturn, false)), (V{"ret-2", "ret-1", "ret-3"}));
  EXPECT_EQ(list(Filter(std::nullopt, true)), (V{"ret-2", "req-3", "ret-1", "req-2"}));
  EXPECT_EQ(list(Filter(RequestKind::kReturn, true)), (V{"ret-2", "ret-1"}));
  EXPECT_EQ(list(Filter(std::nullopt, false, "t1")), (V{"req-4", "req-3", "req-1", "req-5"}));
  EXPECT_EQ(list(Filter(std::nullopt, true, "t1")), (V{"req-3"}));
  EXPECT_EQ(list(Filter(std::nullopt, false, "", 3)), (V{"ret-2", "req-4", "req-3"}));
  EXPECT_EQ(list(Filter(RequestKind::kAcquire, false, "t1", 2)), (V{"req-4", "req-3"}));
  EXPECT_EQ(list(Filter(std::nullopt, false, "nope")), V{});
}

TEST_P(StoreConformanceTest, MachinesOfRequestsOrdersByRequestThenMachine) {
  CommitOk(
      {{MakeRequest("req-b", "t", 2), MakeRequest("req-a", "t", 2), MakeRequest("req-c", "t", 1)},
       {MakeMachine("i-9", "req-a", "t"), MakeMachine("i-2", "req-b", "t"),
        MakeMachine("i-1", "req-b", "t", "terminated"), MakeMachine("i-5", "req-a", "t"),
        MakeMachine("i-7", "req-c", "t")}});
  auto ms = store_->MachinesOfRequests({"req-b", "req-a", "req-missing"});
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ(MachineIds(*ms), (std::vector<std::string>{"i-5", "i-9", "i-1", "i-2"}));
  auto none = store_->MachinesOfRequests({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformanceTest, GetMachinesKeepsTheAskedOrderAndSkipsUnknownIds) {
  CommitOk(
      {{},
       {MakeMachine("i-1", "r", "t"), MakeMachine("i-2", "r", "t"), MakeMachine("i-3", "r", "t")}});
  auto ms = store_->GetMachines({"i-3", "i-missing", "i-1"});
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ(MachineIds(*ms), (std::vector<std::string>{"i-3", "i-1"}));
}

TEST_P(StoreConformanceTest, FindMachinesByNameReturnsEveryHolderOfTheName) {
  // A private DNS name can come back on a new instance after the old one died.
  Machine old = MakeMachine("i-2", "req-1", "t", "terminated");
  old.name = "ip-10-0-0-1.ec2.internal";
  Machine now = MakeMachine("i-1", "req-2", "t");
  now.name = "ip-10-0-0-1.ec2.internal";
  Machine other = MakeMachine("i-3", "req-2", "t");
  other.name = "ip-10-0-0-2.ec2.internal";
  Machine unnamed = MakeMachine("i-4", "req-2", "t");
  unnamed.name = "";
  CommitOk({{}, {old, now, other, unnamed}});

  auto ms = store_->FindMachinesByName({"ip-10-0-0-1.ec2.internal", "", "unknown"});
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ(MachineIds(*ms), (std::vector<std::string>{"i-1", "i-2"}));
  auto two = store_->FindMachinesByName({"ip-10-0-0-2.ec2.internal"});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(MachineIds(*two), (std::vector<std::string>{"i-3"}));
}

TEST_P(StoreConformanceTest, ListLiveMachinesFollowsIsLive) {
  std::vector<Machine> all = {
      MakeMachine("i-5", "r", "t", "running"),    MakeMachine("i-1", "r", "t", "pending"),
      MakeMachine("i-3", "r", "t", "terminated"), MakeMachine("i-4", "r", "t", "shutting-down"),
      MakeMachine("i-2", "r", "t", "stopped"),    MakeMachine("i-6", "r", "t", "stopping"),
  };
  CommitOk({{}, all});
  auto live = store_->ListLiveMachines();
  ASSERT_TRUE(live.ok());
  std::vector<std::string> ids = MachineIds(*live);
  EXPECT_EQ(ids, (std::vector<std::string>{"i-1", "i-2", "i-5", "i-6"}));
  for (const Machine& m : all) {
    bool listed = std::count(ids.begin(), ids.end(), m.machine_id) == 1;
    EXPECT_EQ(listed, IsLive(m)) << m.machine_id;
  }
}

TEST_P(StoreConformanceTest, HeldCountFollowsTheAcquisitionRule) {
  CommitOk({{
                // Active, nothing arrived yet: holds what it asked for.
                MakeRequest("req-pending", "t", 3, RequestState::kPending),
                // Active with more live machines than asked: holds the machines.
                MakeRequest("req-over", "t", 2, RequestState::kInProgress),
                // Active with fewer: holds what it asked for.
                MakeRequest("req-under", "t", 4, RequestState::kInProgress),
                // Final: holds its live machines without a return request.
                MakeRequest("req-done", "t", 5, RequestState::kComplete),
                MakeRequest("req-partial", "t", 5, RequestState::kPartial),
                MakeRequest("req-failed", "t", 5, RequestState::kFailed),
                // Other templates and return requests do not count.
                MakeRequest("req-other", "u", 6, RequestState::kPending),
                MakeReturn("ret-1", {"i-d2"}),
            },
            {
                MakeMachine("i-o1", "req-over", "t"),
                MakeMachine("i-o2", "req-over", "t"),
                MakeMachine("i-o3", "req-over", "t", "pending"),
                MakeMachine("i-u1", "req-under", "t"),
                MakeMachine("i-d1", "req-done", "t"),
                MakeMachine("i-d2", "req-done", "t"),
                MakeMachine("i-d3", "req-done", "t", "terminated"),
                MakeMachine("i-d4", "req-done", "t", "shutting-down"),
                MakeMachine("i-d5", "req-done", "t", "stopped"),
                MakeMachine("i-p1", "req-partial", "t"),
                MakeMachine("i-x1", "req-other", "u"),
            }});
  Machine returning = MakeMachine("i-d2", "req-done", "t");
  returning.return_request_id = "ret-1";
  CommitOk({{}, {returning}});

  // pending 3 + over max(2,3)=3 + under max(4,1)=4 + done (i-d1, i-d5)=2 + partial 1 + failed 0
  auto held = store_->HeldCount("t");
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  EXPECT_EQ(*held, 13);
  EXPECT_EQ(*store_->HeldCount("u"), 6);
  EXPECT_EQ(*store_->HeldCount("nobody"), 0);

  // Returning a machine of an active acquisition drops it to machine_count.
  Machine o1 = MakeMachine("i-o1", "req-over", "t");
  o1.return_request_id = "ret-1";
  CommitOk({{}, {o1}});
  EXPECT_EQ(*store_->HeldCount("t"), 12);
  // Finishing an acquisition releases what never arrived.
  CommitOk({{MakeRequest("req-under", "t", 4, RequestState::kPartial)}, {}});
  EXPECT_EQ(*store_->HeldCount("t"), 9);
}

TEST_P(StoreConformanceTest, CreateAcquireRequestEnforcesTheLimitAtTheExactBoundary) {
  CommitOk({{MakeRequest("req-1", "t", 7, RequestState::kInProgress)}, {}});

  EXPECT_TRUE(store_->CreateAcquireRequest(MakeRequest("req-2", "t", 3), 10).ok());
  EXPECT_EQ(*store_->HeldCount("t"), 10);

  Status s = store_->CreateAcquireRequest(MakeRequest("req-3", "t", 1), 10);
  EXPECT_EQ(s.code(), ErrorCode::kResourceLimitExceeded) << s.ToString();
  EXPECT_EQ(s.details()["held"], 10);
  EXPECT_EQ(s.details()["requested"], 1);
  EXPECT_EQ(s.details()["max"], 10);
  EXPECT_TRUE(store_->GetRequests({"req-3"})->empty());

  // The limit is per template, and -1 means none.
  EXPECT_TRUE(store_->CreateAcquireRequest(MakeRequest("req-4", "u", 10), 10).ok());
  EXPECT_TRUE(store_->CreateAcquireRequest(MakeRequest("req-5", "t", 1000), -1).ok());
  EXPECT_EQ(*store_->HeldCount("t"), 1010);
  s = store_->CreateAcquireRequest(MakeRequest("req-6", "v", 1), 0);
  EXPECT_EQ(s.code(), ErrorCode::kResourceLimitExceeded);
  EXPECT_EQ(s.details()["held"], 0);

  auto stored = store_->GetRequests({"req-2"});
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0], MakeRequest("req-2", "t", 3));
}

TEST_P(StoreConformanceTest, CreateAcquireRequestRefusesAnExistingId) {
  ASSERT_TRUE(store_->CreateAcquireRequest(MakeRequest("req-1", "t", 1), -1).ok());
  Request again = MakeRequest("req-1", "t", 2);
  EXPECT_EQ(store_->CreateAcquireRequest(again, -1).code(), ErrorCode::kConflict);
  EXPECT_EQ(store_->CreateAcquireRequest(again, 0).code(), ErrorCode::kConflict);
  EXPECT_EQ((*store_->GetRequests({"req-1"}))[0].machine_count, 1);
}

TEST_P(StoreConformanceTest, CreateAcquireRequestRefusesReturnsAndMissingIds) {
  EXPECT_EQ(store_->CreateAcquireRequest(MakeReturn("ret-1", {"i-1"}), -1).code(),
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(store_->CreateAcquireRequest(MakeRequest("", "t", 1), -1).code(),
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(*store_->CountRequests(), 0);
}

TEST_P(StoreConformanceTest, ScanRequestsPagesOldestFirst) {
  std::vector<Request> all;
  for (int i = 0; i < 11; ++i) {
    // Shared creation times make the id the tie-breaker.
    all.push_back(MakeRequest("req-" + std::to_string(20 - i), "t", 1, RequestState::kPending,
                              1000 + (i / 3)));
  }
  CommitOk({all, {}});
  std::sort(all.begin(), all.end(), [](const Request& a, const Request& b) {
    return std::tie(a.created_at, a.request_id) < std::tie(b.created_at, b.request_id);
  });

  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  for (;;) {
    auto page = store_->ScanRequests(after, 4);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    if (page->empty()) break;
    EXPECT_LE(page->size(), 4u);
    for (const Request& r : *page) seen.push_back(r.request_id);
    after = page->back().request_id;
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, RequestIds(all));
  auto everything = store_->ScanRequests("", 0);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(*everything, all);
  EXPECT_EQ(store_->ScanRequests("req-unknown", 4).status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformanceTest, ScanMachinesPagesByMachineId) {
  StoreChange change;
  for (int i = 0; i < 10; ++i) {
    change.machines.push_back(MakeMachine("i-" + std::to_string(30 - i), "r", "t"));
  }
  CommitOk(change);
  std::vector<std::string> seen;
  std::string after;
  for (;;) {
    auto page = store_->ScanMachines(after, 3);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const Machine& m : *page) seen.push_back(m.machine_id);
    after = page->back().machine_id;
  }
  std::vector<std::string> expected;
  for (int i = 21; i <= 30; ++i) expected.push_back("i-" + std::to_string(i));
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(store_->ScanMachines("", 0)->size(), 10u);
  EXPECT_EQ(store_->ScanMachines("i-25", 0)->size(), 5u);
}

TEST_P(StoreConformanceTest, CountsFollowCommits) {
  EXPECT_EQ(*store_->CountRequests(), 0);
  EXPECT_EQ(*store_->CountMachines(), 0);
  CommitOk({{MakeRequest("req-1", "t", 1), MakeReturn("ret-1", {})},
            {MakeMachine("i-1", "req-1", "t"), MakeMachine("i-2", "req-1", "t"),
             MakeMachine("i-3", "req-1", "t")}});
  CommitOk({{MakeRequest("req-1", "t", 2)}, {MakeMachine("i-1", "req-1", "t", "terminated")}});
  EXPECT_EQ(*store_->CountRequests(), 2);
  EXPECT_EQ(*store_->CountMachines(), 3);
}

TEST_P(StoreConformanceTest, TwoOpenStoresSeeEachOthersCommits) {
  auto second = Open();
  ASSERT_NE(second, nullptr);
  CommitOk({{MakeRequest("req-1", "t", 1)}, {}});
  EXPECT_EQ(second->GetRequests({"req-1"})->size(), 1u);
  ASSERT_TRUE(second->CreateAcquireRequest(MakeRequest("req-2", "t", 1), 2).ok());
  EXPECT_EQ(store_->CreateAcquireRequest(MakeRequest("req-3", "t", 1), 2).code(),
            ErrorCode::kResourceLimitExceeded);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest,
                         ::testing::ValuesIn(store_testing::StoreBackends()),
                         store_testing::BackendName);

TEST(OpenStoreTest, RejectsAnUnknownType) {
  StoreOptions o;
  o.type = "dbm";
  o.path = "/nonexistent/x";
  auto store = OpenStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kConfigurationError);
}

}  // namespace
}  // namespace ohfp
