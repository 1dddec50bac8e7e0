#include "service/service.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "store/sync_counting_vfs.h"
#include "support/fakes.h"

namespace ohfp {
namespace {

using testing::FakeClock;
using testing::FakeProvider;
using testing::SequentialIds;

Template MakeTemplate(const std::string& id, int64_t max_number) {
  Template t;
  t.template_id = id;
  t.max_number = max_number;
  t.vm_type = "t3.micro";
  t.image_id = "ami-12345678";
  t.attributes["type"] = {"String", "X86_64"};
  t.attributes["ncpus"] = {"Numeric", "1"};
  t.attributes["nram"] = {"Numeric", "1024"};
  return t;
}

Status AwsError(const std::string& code, int http_status) {
  Status s = Status::Provider("RunInstances failed: " + code);
  s.mutable_details() = {{"aws_code", code}, {"http_status", http_status}, {"retryable", false}};
  return s;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ohfp-service-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = OpenStore({"sqlite", (dir_ / "ohfp.db").string()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    templates_.templates.push_back(MakeTemplate("small", 10));
    templates_.templates.push_back(MakeTemplate("unlimited", -1));
    templates_.templates.push_back(MakeTemplate("never", 0));
    options_.orphan_after_sec = 240;
    cloud_.clock = &clock_;
    service_ = std::make_unique<Service>(
        store_.get(), &templates_, [this]() -> Result<Provider*> { return &cloud_; }, &clock_,
        &ids_, options_);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  /// From now on requests are made as Host Factory makes them.
  void MakeRequestsAsHostFactory() {
    options_.host_factory = true;
    options_.abandon_after_sec = 960;
    service_ = std::make_unique<Service>(
        store_.get(), &templates_, [this]() -> Result<Provider*> { return &cloud_; }, &clock_,
        &ids_, options_);
  }

  Request StoredRequest(const std::string& id) {
    auto r = store_->GetRequests({id});
    EXPECT_TRUE(r.ok() && r->size() == 1);
    return r.ok() && r->size() == 1 ? r->front() : Request{};
  }

  std::string Acquire(const std::string& tmpl, int64_t n) {
    auto r = service_->RequestMachines(tmpl, n);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->request.request_id : "";
  }

  RequestReport Status1(const std::string& id) {
    auto r = service_->GetRequestStatus({id});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->size(), 1u);
    return r->at(0);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  TemplateSet templates_;
  FakeClock clock_;
  SequentialIds ids_;
  FakeProvider cloud_;
  ServiceOptions options_;
  std::unique_ptr<Service> service_;
};

TEST_F(ServiceTest, AcquisitionRunsUntilEveryHostRunsThenCompletes) {
  std::string id = Acquire("small", 3);
  EXPECT_EQ(id.rfind("req-", 0), 0u);
  EXPECT_EQ(cloud_.launch_calls, 1);

  RequestReport pending = Status1(id);
  EXPECT_EQ(pending.hf_status, "running");
  ASSERT_EQ(pending.machines.size(), 3u);
  for (const auto& m : pending.machines) EXPECT_EQ(m.result, "executing");

  cloud_.SetState(id, "running");
  RequestReport done = Status1(id);
  EXPECT_EQ(done.hf_status, "complete");
  ASSERT_EQ(done.machines.size(), 3u);
  for (const auto& m : done.machines) {
    EXPECT_EQ(m.result, "succeed");
    EXPECT_EQ(m.machine.name.rfind("ip-10-0-1-", 0), 0u);
    EXPECT_FALSE(m.machine.private_ip.empty());
    EXPECT_GT(m.machine.launch_time, 0);
  }
}

TEST_F(ServiceTest, FinalAnswerNeverChangesAndIsNotPolledAgain) {
  std::string id = Acquire("small", 2);
  cloud_.SetState(id, "running");
  ASSERT_EQ(Status1(id).hf_status, "complete");
  int describes = cloud_.describe_calls;

  cloud_.SetState(id, "terminated", "Server.SpotInstanceTermination");
  RequestReport later = Status1(id);
  EXPECT_EQ(later.hf_status, "complete");
  for (const auto& m : later.machines) {
    EXPECT_EQ(m.result, "succeed");
    EXPECT_EQ(m.machine.state, "running");
  }
  EXPECT_EQ(cloud_.describe_calls, describes);
}

TEST_F(ServiceTest, UnknownRequestIsCompleteWithErrorNeverRunning) {
  RequestReport r = Status1("req-00000000-0000-4000-8000-999999999999");
  EXPECT_FALSE(r.known);
  EXPECT_EQ(r.hf_status, "complete_with_error");
  EXPECT_EQ(r.message, "unknown request id");
  EXPECT_TRUE(r.machines.empty());
}

TEST_F(ServiceTest, UnknownTemplateIsTemplateNotFound) {
  auto r = service_->RequestMachines("nope", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTemplateNotFound);
  EXPECT_EQ(cloud_.launch_calls, 0);
}

TEST_F(ServiceTest, MaxNumberCountsHeldHostsPlusAskedFor) {
  Acquire("small", 6);
  auto over = service_->RequestMachines("small", 5);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), ErrorCode::kResourceLimitExceeded);
  EXPECT_EQ(cloud_.launch_calls, 1);
  Acquire("small", 4);  // exactly up to the limit
  EXPECT_FALSE(service_->RequestMachines("never", 1).ok());
  Acquire("unlimited", 500);
}

TEST_F(ServiceTest, ReturnedHostsNoLongerCountAgainstMaxNumber) {
  std::string id = Acquire("small", 10);
  cloud_.SetState(id, "running");
  RequestReport done = Status1(id);
  ASSERT_FALSE(service_->RequestMachines("small", 1).ok());

  std::vector<MachineRef> refs;
  for (const auto& m : done.machines) refs.push_back({m.machine.machine_id, m.machine.name});
  ASSERT_TRUE(service_->RequestReturnMachines(refs).ok());
  Acquire("small", 10);
}

TEST_F(ServiceTest, RefusedLaunchIsRecordedAsFailed) {
  cloud_.next_launch_error = AwsError("InsufficientInstanceCapacity", 400);
  auto r = service_->RequestMachines("small", 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->request.state, RequestState::kFailed);
  RequestReport s = Status1(r->request.request_id);
  EXPECT_EQ(s.hf_status, "complete_with_error");
  EXPECT_NE(s.message.find("InsufficientInstanceCapacity"), std::string::npos);
}

Status LostAnswer() {
  Status lost = Status::Provider("connection reset");
  lost.mutable_details() = {{"transport", "io"}};
  return lost;
}

TEST_F(ServiceTest, LostLaunchAnswerIsFoundByTagBeforeLaunchingAgain) {
  cloud_.next_launch_error = LostAnswer();
  cloud_.launch_anyway = true;  // EC2 launched; we never heard
  auto r = service_->RequestMachines("small", 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->request.state, RequestState::kInProgress);
  EXPECT_EQ(r->machines.size(), 2u);
  EXPECT_EQ(cloud_.launch_calls, 1);
  EXPECT_EQ(cloud_.find_calls, 1);
  EXPECT_EQ(cloud_.instances.size(), 2u);
}

TEST_F(ServiceTest, LostLaunchThatCreatedNothingIsLaunchedAgainAtOnce) {
  cloud_.next_launch_error = LostAnswer();  // nothing launched
  auto r = service_->RequestMachines("small", 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->request.state, RequestState::kInProgress);
  EXPECT_EQ(cloud_.launch_calls, 2);
  EXPECT_EQ(cloud_.find_calls, 1);
  EXPECT_EQ(cloud_.instances.size(), 2u);
}

TEST_F(ServiceTest, LostLaunchAnswerIsAdoptedByTheNextPollNotLaunchedTwice) {
  cloud_.next_launch_error = LostAnswer();
  cloud_.launch_anyway = true;
  cloud_.next_find_error = LostAnswer();  // the look-up fails too
  auto r = service_->RequestMachines("small", 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->request.state, RequestState::kPending);
  std::string id = r->request.request_id;

  clock_.Advance(1);
  cloud_.SetState(id, "running");
  RequestReport s = Status1(id);
  EXPECT_EQ(s.hf_status, "complete");
  EXPECT_EQ(s.machines.size(), 2u);
  EXPECT_EQ(cloud_.launch_calls, 1);
  EXPECT_EQ(cloud_.instances.size(), 2u);
}

TEST_F(ServiceTest, UnconfirmedLaunchIsRetriedByTheNextPollWithoutTheOrphanWait) {
  cloud_.next_launch_error = LostAnswer();  // nothing launched
  cloud_.next_find_error = LostAnswer();
  auto r = service_->RequestMachines("small", 2);
  ASSERT_TRUE(r.ok());
  std::string id = r->request.request_id;
  EXPECT_EQ(r->request.state, RequestState::kPending);
  EXPECT_EQ(cloud_.launch_calls, 1);

  clock_.Advance(1);  // far less than the orphan timeout: no process is launching it
  EXPECT_EQ(Status1(id).hf_status, "running");
  EXPECT_EQ(cloud_.launch_calls, 2);
  cloud_.SetState(id, "running");
  RequestReport s = Status1(id);
  EXPECT_EQ(s.hf_status, "complete");
  EXPECT_EQ(s.machines.size(), 2u);
  EXPECT_EQ(cloud_.instances.size(), 2u);
}

TEST_F(ServiceTest, PartOfASetFoundByTagIsAdoptedOnlyAfterTheGrace) {
  // A launch of 3 whose answer was lost; so far the cloud lists 2 of them.
  Request r;
  r.request_id = "req-partial";
  r.template_id = "small";
  r.provider_api = "RunInstances";
  r.machine_count = 3;
  r.client_token = r.request_id;
  r.created_at = r.updated_at = clock_.NowSeconds();
  r.launch_attempts = 1;
  r.handles = {{"launch_unconfirmed", true}};
  ASSERT_TRUE(store_->CreateAcquireRequest(r, 10).ok());
  Request visible = r;
  visible.machine_count = 2;
  ASSERT_TRUE(cloud_.Launch(templates_.templates[0], visible).ok());
  cloud_.SetState("req-partial", "running");

  clock_.Advance(5);
  RequestReport s = Status1("req-partial");
  EXPECT_EQ(s.hf_status, "running");
  EXPECT_TRUE(s.machines.empty()) << "nothing adopted from a partial view";
  EXPECT_EQ(cloud_.launch_calls, 1) << "and nothing launched again";

  clock_.Advance(options_.not_found_grace_sec);
  s = Status1("req-partial");
  EXPECT_EQ(s.machines.size(), 2u) << "after the grace, what exists is adopted";
  EXPECT_EQ(cloud_.launch_calls, 1);
}

// The answer is built by moving each request and its machines into it; an id
// named twice must still be answered in full both times.
TEST_F(ServiceTest, RequestNamedTwiceInOnePollIsAnsweredInFullTwice) {
  std::string done = Acquire("small", 2);
  cloud_.SetState(done, "running");
  ASSERT_EQ(Status1(done).hf_status, "complete");
  std::string running = Acquire("small", 3);

  for (int poll = 0; poll < 2; ++poll) {  // while running, then once it completes
    auto answer = service_->GetRequestStatus({running, done, running, "req-nope", done});
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    ASSERT_EQ(answer->size(), 5u);
    const std::vector<std::pair<size_t, size_t>> same = {{0, 2}, {1, 4}};
    for (auto [first, again] : same) {
      const RequestReport& a = (*answer)[first];
      const RequestReport& b = (*answer)[again];
      EXPECT_EQ(b.request_id, a.request_id);
      EXPECT_EQ(b.hf_status, a.hf_status);
      EXPECT_EQ(b.message, a.message);
      EXPECT_EQ(b.request.request_id, a.request_id);
      ASSERT_EQ(b.machines.size(), a.machines.size());
    }
    EXPECT_EQ((*answer)[0].machines.size(), 3u);
    EXPECT_EQ((*answer)[1].machines.size(), 2u);
    EXPECT_EQ((*answer)[1].hf_status, "complete");
    EXPECT_FALSE((*answer)[3].known);
    EXPECT_EQ((*answer)[0].hf_status, poll == 0 ? "running" : "complete");
    cloud_.SetState(running, "running");
  }
}

TEST_F(ServiceTest, SurplusFoundByTagIsTerminatedAndNeverAdopted) {
  // A launch repeated after a lost answer by a cloud that ignored the token.
  Request r;
  r.request_id = "req-twice";
  r.template_id = "small";
  r.provider_api = "RunInstances";
  r.machine_count = 2;
  r.client_token = r.request_id;
  r.created_at = r.updated_at = clock_.NowSeconds();
  r.launch_attempts = 2;
  ASSERT_TRUE(store_->CreateAcquireRequest(r, 10).ok());
  ASSERT_TRUE(cloud_.Launch(templates_.templates[0], r).ok());
  clock_.Advance(5);
  ASSERT_TRUE(cloud_.Launch(templates_.templates[0], r).ok());
  ASSERT_EQ(cloud_.instances.size(), 4u);
  cloud_.SetState("req-twice", "running");

  cloud_.next_release_error = LostAnswer();  // the first terminate fails: nothing adopted
  EXPECT_EQ(Status1("req-twice").hf_status, "running");
  EXPECT_TRUE(cloud_.released.empty());

  RequestReport s = Status1("req-twice");
  EXPECT_EQ(s.hf_status, "complete");
  ASSERT_EQ(s.machines.size(), 2u);
  ASSERT_EQ(cloud_.released.size(), 2u);
  for (const auto& m : s.machines) {
    EXPECT_EQ(cloud_.instances[m.machine.machine_id].launch_time, clock_.NowSeconds() - 5)
        << "the older set is kept";
    for (const auto& gone : cloud_.released) EXPECT_NE(m.machine.machine_id, gone);
  }
  EXPECT_EQ(cloud_.launch_calls, 2);  // only the two above
}

TEST_F(ServiceTest, OrphanedRequestIsLaunchedAgainOnlyAfterTheActionTimeout) {
  // A process that died after recording but before launching.
  Request r;
  r.request_id = "req-orphan";
  r.template_id = "small";
  r.provider_api = "RunInstances";
  r.machine_count = 2;
  r.client_token = r.request_id;
  r.created_at = r.updated_at = clock_.NowSeconds();
  r.launch_attempts = 1;
  ASSERT_TRUE(store_->CreateAcquireRequest(r, 10).ok());

  EXPECT_EQ(Status1("req-orphan").hf_status, "running");
  EXPECT_EQ(cloud_.launch_calls, 0);  // it may still be launching

  clock_.Advance(241);
  Status1("req-orphan");
  EXPECT_EQ(cloud_.launch_calls, 1);
  cloud_.SetState("req-orphan", "running");
  RequestReport s = Status1("req-orphan");
  EXPECT_EQ(s.hf_status, "complete");
  EXPECT_EQ(s.machines.size(), 2u);
}

TEST_F(ServiceTest, OneHostLostMeansCompleteWithErrorNamingTheReason) {
  std::string id = Acquire("small", 3);
  cloud_.SetState(id, "running");
  cloud_.SetInstanceState(cloud_.instances.begin()->first, "terminated",
                          "Server.InsufficientInstanceCapacity");
  RequestReport s = Status1(id);
  EXPECT_EQ(s.hf_status, "complete_with_error");
  EXPECT_NE(s.message.find("2 of 3 hosts running"), std::string::npos);
  EXPECT_NE(s.message.find("Server.InsufficientInstanceCapacity"), std::string::npos);
  int failed = 0;
  for (const auto& m : s.machines) {
    if (m.result == "fail") {
      ++failed;
      EXPECT_FALSE(m.message.empty());
    }
  }
  EXPECT_EQ(failed, 1);
}

TEST_F(ServiceTest, HostsStuckPendingAreTerminatedAndFail) {
  std::string id = Acquire("small", 1);
  clock_.Advance(options_.pending_timeout_sec + 1);
  RequestReport s = Status1(id);
  EXPECT_EQ(s.hf_status, "complete_with_error");
  EXPECT_EQ(cloud_.released.size(), 1u);
}

TEST_F(ServiceTest, StatusOfManyRequestsDescribesOnce) {
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(Acquire("unlimited", 2));
  int before = cloud_.describe_calls;
  auto r = service_->GetRequestStatus(ids);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 50u);
  EXPECT_EQ(cloud_.describe_calls, before + 1);
}

TEST_F(ServiceTest, ReturnTerminatesAndCompletesWhenHostsAreGone) {
  std::string id = Acquire("small", 2);
  cloud_.SetState(id, "running");
  RequestReport acquired = Status1(id);

  std::vector<MachineRef> refs;
  for (const auto& m : acquired.machines) refs.push_back({m.machine.machine_id, m.machine.name});
  auto ret = service_->RequestReturnMachines(refs);
  ASSERT_TRUE(ret.ok());
  std::string ret_id = ret->request.request_id;
  EXPECT_EQ(ret_id.rfind("ret-", 0), 0u);
  EXPECT_EQ(cloud_.released.size(), 2u);

  RequestReport during = Status1(ret_id);
  EXPECT_EQ(during.hf_status, "running");
  cloud_.SetState(id, "terminated");
  RequestReport done = Status1(ret_id);
  EXPECT_EQ(done.hf_status, "complete");
  ASSERT_EQ(done.machines.size(), 2u);
  for (const auto& m : done.machines) EXPECT_EQ(m.result, "succeed");
}

// Each call syncs what only it knows before the cloud acts on it, and leaves
// what the cloud can tell again to a later sync (Durability in store.h).
TEST_F(ServiceTest, SyncsIntentsBeforeCloudCallsAndNotWhatTheCloudSays) {
  store_testing::SyncCountingVfs vfs;
  store_.reset();
  const std::string path = (dir_ / "ohfp.db").string();
  auto reopened = OpenStore({"sqlite", path});
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(*reopened);
  MakeRequestsAsHostFactory();
  int at_call = -1;
  cloud_.on_change_call = [&] { at_call = vfs.syncs(); };
  // Each step starts with a short WAL, so that no step ends in the store's
  // own checkpoint or starts a new WAL, both of which sync too: the WAL is
  // emptied and then given one frame (the header page, rewritten as it is).
  auto empty_wal = [&] {
    sqlite3* db = nullptr;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    std::string rewrite = "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA user_version=" +
                          std::to_string(sqlite3_column_int(stmt, 0));
    sqlite3_finalize(stmt);
    EXPECT_EQ(sqlite3_exec(db, rewrite.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    return vfs.syncs();
  };

  int before = empty_wal();
  std::string id = Acquire("small", 2);
  EXPECT_GT(at_call, before) << "the request is on disk before the launch";
  EXPECT_EQ(vfs.syncs(), at_call) << "the hosts launched carry its tag";

  before = empty_wal();
  Status1(id);
  EXPECT_GT(vfs.syncs(), before) << "the first poll: Host Factory has the id";
  cloud_.SetState(id, "running");
  clock_.Advance(10);
  before = empty_wal();
  RequestReport acquired = Status1(id);
  EXPECT_EQ(acquired.hf_status, "complete");
  EXPECT_EQ(vfs.syncs(), before) << "later polls write only what EC2 said";

  std::vector<MachineRef> refs;
  for (const auto& m : acquired.machines) refs.push_back({m.machine.machine_id, m.machine.name});
  before = empty_wal();
  auto ret = service_->RequestReturnMachines(refs);
  ASSERT_TRUE(ret.ok());
  EXPECT_GT(at_call, before) << "the return is on disk before the terminate";
  EXPECT_EQ(vfs.syncs(), at_call);

  cloud_.SetState(id, "terminated");
  before = empty_wal();
  ASSERT_TRUE(service_->GetReturnRequests(refs, true).ok());
  EXPECT_EQ(vfs.syncs(), before);
}

TEST_F(ServiceTest, ReturnByNameOnly) {
  std::string id = Acquire("small", 1);
  cloud_.SetState(id, "running");
  RequestReport acquired = Status1(id);
  auto ret = service_->RequestReturnMachines({{"", acquired.machines[0].machine.name}});
  ASSERT_TRUE(ret.ok());
  ASSERT_EQ(ret->request.machine_ids.size(), 1u);
  EXPECT_EQ(ret->request.machine_ids[0], acquired.machines[0].machine.machine_id);
}

TEST_F(ServiceTest, ReturnOfNothingStillGivesAnId) {
  auto ret = service_->RequestReturnMachines({});
  ASSERT_TRUE(ret.ok());
  EXPECT_EQ(ret->request.request_id.rfind("ret-", 0), 0u);
  EXPECT_EQ(Status1(ret->request.request_id).hf_status, "complete");
}

TEST_F(ServiceTest, ReturnOfHostsUnknownEverywhereSucceeds) {
  auto ret = service_->RequestReturnMachines({{"i-0123456789abcdef0", "ip-1-2-3-4"}});
  ASSERT_TRUE(ret.ok());
  RequestReport s = Status1(ret->request.request_id);
  EXPECT_EQ(s.hf_status, "complete");
  ASSERT_EQ(s.machines.size(), 1u);
  EXPECT_EQ(s.machines[0].result, "succeed");
}

TEST_F(ServiceTest, CloudReclaimsAreReportedWithZeroGrace) {
  std::string id = Acquire("small", 2);
  cloud_.SetState(id, "running");
  RequestReport acquired = Status1(id);
  const Machine& a = acquired.machines[0].machine;
  const Machine& b = acquired.machines[1].machine;

  auto none = service_->GetReturnRequests({}, false);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->machines.empty());
  EXPECT_EQ(none->checked, 2);

  cloud_.SetInstanceState(a.machine_id, "terminated", "Server.SpotInstanceTermination");
  auto some = service_->GetReturnRequests({{a.machine_id, a.name}, {b.machine_id, b.name}}, true);
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->machines.size(), 1u);
  EXPECT_EQ(some->machines[0].name, a.name);
  EXPECT_EQ(some->machines[0].grace_period, 0);

  cloud_.Purge(b.machine_id);
  auto all = service_->GetReturnRequests({}, false);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->machines.size(), 1u);  // a is no longer live in the store
  EXPECT_EQ(all->machines[0].name, b.name);
}

TEST_F(ServiceTest, CloudErrorDuringStatusKeepsRequestsRunning) {
  std::string id = Acquire("small", 1);
  cloud_.next_describe_error = Status::Provider("throttled until the deadline");
  RequestReport s = Status1(id);
  EXPECT_EQ(s.hf_status, "running");
  EXPECT_NE(s.message.find("not refreshed"), std::string::npos);
}

TEST_F(ServiceTest, TemplatesReportHeldHosts) {
  Acquire("small", 3);
  auto r = service_->GetAvailableTemplates("");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->templates.size(), 3u);
  EXPECT_EQ(r->templates[0].tmpl->template_id, "small");
  EXPECT_EQ(r->templates[0].held, 3);
  auto none = service_->GetAvailableTemplates("EC2Fleet");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->templates.empty());
}

TEST_F(ServiceTest, UnpolledHostFactoryRequestThatNeverLaunchedIsFailedNotLaunched) {
  MakeRequestsAsHostFactory();
  Status lost = Status::Provider("connection reset");
  lost.mutable_details() = {{"transport", "io"}};
  cloud_.next_launch_error = lost;  // nothing launched, and Host Factory never polls it
  cloud_.next_find_error = lost;    // nor could the process look for its instances
  auto r = service_->RequestMachines("small", 2);
  ASSERT_TRUE(r.ok());
  std::string id = r->request.request_id;

  clock_.Advance(241);
  ASSERT_TRUE(service_->GetRequestStatus({}).ok());  // some other poll
  Request after = StoredRequest(id);
  EXPECT_EQ(after.state, RequestState::kFailed);
  EXPECT_EQ(cloud_.launch_calls, 1);
  EXPECT_TRUE(cloud_.instances.empty());
}

TEST_F(ServiceTest, PolledHostFactoryRequestIsLaunchedAgainAfterALostLaunch) {
  MakeRequestsAsHostFactory();
  Status lost = Status::Provider("connection reset");
  lost.mutable_details() = {{"transport", "io"}};
  cloud_.next_launch_error = lost;
  cloud_.next_find_error = lost;
  auto r = service_->RequestMachines("small", 2);
  ASSERT_TRUE(r.ok());
  std::string id = r->request.request_id;
  EXPECT_EQ(cloud_.launch_calls, 1);

  // Host Factory has the id; the launch ended unconfirmed, so its first poll
  // looks by tag, finds nothing and launches again with the same token.
  EXPECT_EQ(Status1(id).hf_status, "running");
  EXPECT_EQ(cloud_.launch_calls, 2);
  cloud_.SetState(id, "running");
  EXPECT_EQ(Status1(id).hf_status, "complete");
}

TEST_F(ServiceTest, UnpolledHostFactoryRequestIsAbandonedAndItsHostsTerminated) {
  MakeRequestsAsHostFactory();
  // Its process died after launching, before Host Factory got the id.
  std::string id = Acquire("small", 2);
  std::string polled = Acquire("small", 1);
  cloud_.SetState("", "running");

  clock_.Advance(300);
  ASSERT_EQ(Status1(polled).hf_status, "complete");
  EXPECT_EQ(StoredRequest(id).state, RequestState::kInProgress);  // not yet
  EXPECT_TRUE(cloud_.released.empty());

  clock_.Advance(700);  // past 960 s since it was made
  ASSERT_TRUE(service_->GetRequestStatus({}).ok());
  Request after = StoredRequest(id);
  EXPECT_EQ(after.state, RequestState::kFailed);
  EXPECT_NE(after.message.find("abandoned"), std::string::npos) << after.message;
  EXPECT_EQ(cloud_.released.size(), 2u);
  for (const auto& [iid, inst] : cloud_.instances) {
    EXPECT_EQ(inst.state == "running", inst.request_id == polled) << iid;
  }
}

TEST_F(ServiceTest, PolledHostFactoryRequestIsNeverAbandoned) {
  MakeRequestsAsHostFactory();
  std::string id = Acquire("small", 2);
  EXPECT_EQ(Status1(id).hf_status, "running");
  cloud_.SetState(id, "running");
  clock_.Advance(2000);  // Host Factory went quiet, but it has the id
  ASSERT_TRUE(service_->GetRequestStatus({}).ok());
  EXPECT_NE(StoredRequest(id).state, RequestState::kFailed);
  EXPECT_TRUE(cloud_.released.empty());
}

TEST_F(ServiceTest, RequestMadeAtAShellIsNeverAbandoned) {
  std::string id = Acquire("small", 2);  // the person saw the id
  cloud_.SetState(id, "running");
  clock_.Advance(2000);
  ASSERT_TRUE(service_->GetRequestStatus({}).ok());
  EXPECT_TRUE(cloud_.released.empty());
  EXPECT_NE(StoredRequest(id).state, RequestState::kFailed);
}

TEST_F(ServiceTest, UnpolledReturnIsCompletedByAnyStatusCall) {
  std::string id = Acquire("small", 2);
  cloud_.SetState(id, "running");
  auto acquired = Status1(id);
  ASSERT_EQ(acquired.hf_status, "complete");

  // A return whose process died before its terminate call.
  Request ret;
  ret.request_id = "ret-crashed";
  ret.kind = RequestKind::kReturn;
  ret.machine_count = 2;
  ret.created_at = ret.updated_at = clock_.NowSeconds();
  StoreChange change;
  for (auto& m : acquired.machines) {
    ret.machine_ids.push_back(m.machine.machine_id);
    m.machine.return_request_id = ret.request_id;
    change.machines.push_back(m.machine);
  }
  change.requests.push_back(ret);
  ASSERT_TRUE(store_->Commit(change).ok());

  clock_.Advance(241);
  ASSERT_TRUE(service_->GetRequestStatus({}).ok());  // nobody asks for ret-crashed
  EXPECT_EQ(cloud_.released.size(), 2u);
  cloud_.SetState(id, "terminated");
  clock_.Advance(241);
  ASSERT_TRUE(service_->GetRequestStatus({}).ok());
  EXPECT_EQ(StoredRequest("ret-crashed").state, RequestState::kComplete);
}

TEST_F(ServiceTest, ReconcileFindsInstancesNoLiveRequestOwns) {
  std::string owned = Acquire("small", 1);
  std::string done = Acquire("small", 1);
  cloud_.SetState("", "running");
  ASSERT_EQ(Status1(done).hf_status, "complete");

  // One instance of a request this store never saw, one that arrived after
  // its request was final.
  Instance stranger;
  stranger.instance_id = "i-stranger";
  stranger.state = "running";
  stranger.request_id = "req-elsewhere";
  cloud_.instances[stranger.instance_id] = stranger;
  Instance late = stranger;
  late.instance_id = "i-late";
  late.request_id = done;
  cloud_.instances[late.instance_id] = late;

  auto found = service_->Reconcile(/*clean=*/false);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->checked, 4);
  ASSERT_EQ(found->strays.size(), 2u);
  std::set<std::string> ids;
  for (const auto& s : found->strays) ids.insert(s.instance_id);
  EXPECT_EQ(ids, (std::set<std::string>{"i-stranger", "i-late"}));
  EXPECT_TRUE(cloud_.released.empty());

  auto cleaned = service_->Reconcile(/*clean=*/true);
  ASSERT_TRUE(cleaned.ok());
  EXPECT_TRUE(cleaned->cleaned);
  EXPECT_EQ(std::set<std::string>(cloud_.released.begin(), cloud_.released.end()), ids);
  EXPECT_EQ(cloud_.instances["i-stranger"].state, "shutting-down");
  auto after = service_->Reconcile(/*clean=*/false);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->strays.empty());  // being terminated already
}

}  // namespace
}  // namespace ohfp
