// What only the SQLite back end promises: per-request work independent of
// history length, and refusal of files it cannot trust.

#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

#include <gtest/gtest.h>

#include "store/store_testing.h"
#include "store/sync_counting_vfs.h"

namespace ohfp {
namespace {

using store_testing::FileStoreOptions;
using store_testing::Filter;
using store_testing::MakeMachine;
using store_testing::MakeRequest;
using store_testing::MakeReturn;
using store_testing::ScratchDir;
using store_testing::SyncCountingVfs;

std::unique_ptr<SqliteStore> OpenSqlite(const std::string& dir) {
  auto store = SqliteStore::Open(FileStoreOptions("sqlite", dir));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// Writes `history` finished acquisitions (each with one terminated machine)
// and finished returns, then the same small live set in every store.
void Populate(SqliteStore& store, int history) {
  StoreChange old;
  for (int i = 0; i < history; ++i) {
    std::string n = std::to_string(100000 + i);
    old.requests.push_back(MakeRequest("req-old-" + n, "t", 1, RequestState::kComplete, 10 + i));
    old.machines.push_back(MakeMachine("i-old-" + n, "req-old-" + n, "t", "terminated"));
    Request ret = MakeReturn("ret-old-" + n, {"i-old-" + n}, 10 + i);
    ret.state = RequestState::kComplete;
    old.requests.push_back(ret);
  }
  ASSERT_TRUE(store.Commit(old).ok());

  StoreChange live;
  for (int i = 0; i < 5; ++i) {
    std::string n = std::to_string(i);
    live.requests.push_back(
        MakeRequest("req-live-" + n, "t", 2, RequestState::kInProgress, 1000000 + i));
    live.machines.push_back(MakeMachine("i-live-" + n, "req-live-" + n, "t"));
    live.requests.push_back(
        MakeRequest("req-done-" + n, "t", 1, RequestState::kComplete, 1000000 + i));
    live.machines.push_back(MakeMachine("i-done-" + n, "req-done-" + n, "t"));
  }
  ASSERT_TRUE(store.Commit(live).ok());
}

// The calls a Host Factory poll makes, none of which should depend on history.
void RunPerRequestCalls(Store& store) {
  std::vector<std::string> ids = {"req-live-0", "req-live-3", "req-done-1", "req-missing"};
  EXPECT_EQ(store.GetRequests(ids)->size(), 3u);
  EXPECT_EQ(store.MachinesOfRequests(ids)->size(), 3u);
  EXPECT_EQ(store.GetMachines({"i-live-1", "i-done-2"})->size(), 2u);
  EXPECT_EQ(store.FindMachinesByName({"ip-i-live-4.ec2.internal"})->size(), 1u);
  EXPECT_EQ(store.ListLiveMachines()->size(), 10u);
  EXPECT_EQ(*store.HeldCount("t"), 15);
  EXPECT_EQ(store.ListRequests(Filter(std::nullopt, true))->size(), 5u);
  EXPECT_EQ(store.ListRequests(Filter(RequestKind::kReturn, true))->size(), 0u);
  EXPECT_EQ(store.ListRequests(Filter(std::nullopt, true, "t"))->size(), 5u);
  EXPECT_EQ(store.ListRequests(Filter(RequestKind::kAcquire, false, "", 3))->size(), 3u);
  EXPECT_EQ(store.ListRequests(Filter(std::nullopt, false, "", 3))->size(), 3u);
  EXPECT_TRUE(store
                  .CreateAcquireRequest(
                      MakeRequest("req-new", "t", 5, RequestState::kPending, 2000000), 100)
                  .ok());
  Request update = MakeRequest("req-live-0", "t", 2, RequestState::kComplete, 1000000);
  Machine gone = MakeMachine("i-live-0", "req-live-0", "t", "terminated");
  EXPECT_TRUE(store.Commit({{update}, {gone}}).ok());
  EXPECT_EQ(store.ScanRequests("req-live-2", 4)->size(), 4u);
  EXPECT_EQ(store.ScanMachines("i-live-0", 4)->size(), 4u);
}

TEST(SqliteStoreTest, PerRequestWorkStaysFlatAsHistoryGrows) {
  ScratchDir small_dir, large_dir;
  auto small = OpenSqlite(small_dir.path());
  auto large = OpenSqlite(large_dir.path());
  ASSERT_TRUE(small && large);
  Populate(*small, 10);
  Populate(*large, 5000);

  int64_t small_before = small->VirtualMachineSteps();
  RunPerRequestCalls(*small);
  int64_t small_steps = small->VirtualMachineSteps() - small_before;
  int64_t large_before = large->VirtualMachineSteps();
  RunPerRequestCalls(*large);
  int64_t large_steps = large->VirtualMachineSteps() - large_before;

  // 500 times the history may cost a little for deeper B-trees, never in
  // proportion: one scan of the 10,000 old records would add that many steps.
  std::string plans;
  for (const auto& [sql, plan] : large->CachedQueryPlans()) plans += sql + "\n" + plan + "\n";
  EXPECT_LE(large_steps, small_steps + small_steps / 5 + 100)
      << "small history: " << small_steps << " steps, large: " << large_steps << "\n"
      << plans;
}

TEST(SqliteStoreTest, RefusesAFileThatIsNotADatabase) {
  ScratchDir dir;
  StoreOptions o = FileStoreOptions("sqlite", dir.path());
  // Only the directory: a store opened here first would leave its WAL
  // (kept between processes), and SQLite would read the schema from it.
  std::filesystem::create_directories(std::filesystem::path(o.path).parent_path());
  {
    std::ofstream f(o.path, std::ios::trunc);
    f << std::string(8192, 'x');
  }
  auto store = OpenStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kStorageError);
}

// The names of the indexes the store at `path` holds, and its user_version.
std::pair<std::set<std::string>, int> IndexesAndVersion(const std::string& path) {
  std::set<std::string> names;
  int version = -1;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'index'", -1, &stmt, nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    names.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
  if (sqlite3_step(stmt) == SQLITE_ROW) version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return {names, version};
}

TEST(SqliteStoreTest, MigratesAVersionOneStore) {
  ScratchDir dir;
  StoreOptions o = FileStoreOptions("sqlite", dir.path());
  {
    auto store = OpenSqlite(dir.path());
    ASSERT_NE(store, nullptr);
    Populate(*store, 3);
  }
  auto [fresh, fresh_version] = IndexesAndVersion(o.path);
  EXPECT_EQ(fresh_version, 2);
  EXPECT_EQ(fresh.count("machines_state") + fresh.count("machines_template"), 0u);
  EXPECT_EQ(fresh.count("machines_held"), 1u);

  // Put back what version 1 had, as an older ohfp left it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE INDEX machines_state ON machines (state);"
                         "CREATE INDEX machines_template ON machines (template_id);"
                         "PRAGMA user_version=1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = OpenSqlite(dir.path());
  ASSERT_NE(store, nullptr);
  auto [migrated, version] = IndexesAndVersion(o.path);
  EXPECT_EQ(version, 2);
  EXPECT_EQ(migrated, fresh);
  EXPECT_EQ(store->GetRequests({"req-live-0", "req-old-100002"})->size(), 2u);
  EXPECT_EQ(store->ListLiveMachines()->size(), 10u);
  EXPECT_EQ(*store->HeldCount("t"), 15);
}

TEST(SqliteStoreTest, RefusesANewerSchema) {
  ScratchDir dir;
  StoreOptions o = FileStoreOptions("sqlite", dir.path());
  ASSERT_NE(OpenSqlite(dir.path()), nullptr);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = OpenStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kStorageError);
  EXPECT_NE(store.status().message().find("99"), std::string::npos);
}

TEST(SqliteStoreTest, UsesWalAndFullSync) {
  ScratchDir dir;
  auto store = OpenSqlite(dir.path());
  ASSERT_NE(store, nullptr);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(FileStoreOptions("sqlite", dir.path()).path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// Each process rebuilds the WAL index by reading the whole WAL, so the WAL
// must be checkpointed (and restarted from its start) long before SQLite's
// default of 1,000 pages.
TEST(SqliteStoreTest, KeepsTheWalShort) {
  ScratchDir dir;
  StoreOptions o = FileStoreOptions("sqlite", dir.path());
  for (int i = 0; i < 200; ++i) {
    auto store = SqliteStore::Open(o);  // one process per call
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::string n = std::to_string(i);
    StoreChange change;
    change.requests.push_back(MakeRequest("req-" + n, "t", 1, RequestState::kInProgress, i));
    change.machines.push_back(MakeMachine("i-" + n, "req-" + n, "t"));
    ASSERT_TRUE((*store)->Commit(change).ok());
  }
  constexpr uintmax_t kFrameBytes = 24 + 4096, kHeaderBytes = 32, kMaxFrames = 100;
  uintmax_t wal = std::filesystem::file_size(o.path + "-wal");
  EXPECT_LE(wal, kHeaderBytes + kMaxFrames * kFrameBytes) << (wal / kFrameBytes) << " frames";
  auto store = SqliteStore::Open(o);
  ASSERT_TRUE(store.ok());
  auto all = (*store)->GetRequests({"req-0", "req-199"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

// Intents are synced before their cloud call; observations the cloud can
// repeat are not, and reach the disk with the next synced commit.
TEST(SqliteStoreTest, SyncsOnlyWhatMustSurviveAPowerLoss) {
  ScratchDir dir;
  SyncCountingVfs vfs;
  auto store = OpenSqlite(dir.path());
  ASSERT_NE(store, nullptr);

  int before = vfs.syncs();
  ASSERT_TRUE(store->CreateAcquireRequest(MakeRequest("req-1", "t", 1), -1).ok());
  EXPECT_GT(vfs.syncs(), before) << "an acquisition is synced before its launch";

  before = vfs.syncs();
  StoreChange observed{{}, {MakeMachine("i-1", "req-1", "t")}, Durability::kProcessCrash};
  ASSERT_TRUE(store->Commit(observed).ok());
  EXPECT_EQ(vfs.syncs(), before) << "an observation is not synced";

  before = vfs.syncs();
  StoreChange returned{{MakeReturn("ret-1", {"i-1"}, 5)}, {}};
  ASSERT_TRUE(store->Commit(returned).ok());
  EXPECT_GT(vfs.syncs(), before) << "a change is synced unless it says otherwise";

  // A process that reopens the store sees the unsynced commit too.
  store.reset();
  store = OpenSqlite(dir.path());
  ASSERT_NE(store, nullptr);
  auto machines = store->GetMachines({"i-1"});
  ASSERT_TRUE(machines.ok());
  EXPECT_EQ(machines->size(), 1u);
}

// Stands in front of the unix VFS under its name while it lives, as the
// default, and records the flags of every WAL open that reaches it.
class WalOpenRecorder {
 public:
  WalOpenRecorder() : unix_(sqlite3_vfs_find("unix")), vfs_(*unix_) {
    vfs_.pAppData = this;
    vfs_.xOpen = &Open;
    sqlite3_vfs_register(&vfs_, 1);
  }
  ~WalOpenRecorder() { sqlite3_vfs_unregister(&vfs_); }
  WalOpenRecorder(const WalOpenRecorder&) = delete;
  WalOpenRecorder& operator=(const WalOpenRecorder&) = delete;

  /// Of the WAL opens so far, how many asked to create the file.
  int wal_opens() const { return wal_opens_; }
  int creating() const { return creating_; }

 private:
  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
                  int* out_flags) {
    auto* self = static_cast<WalOpenRecorder*>(vfs->pAppData);
    if (flags & SQLITE_OPEN_WAL) {
      ++self->wal_opens_;
      if (flags & SQLITE_OPEN_CREATE) ++self->creating_;
    }
    return self->unix_->xOpen(self->unix_, name, file, flags, out_flags);
  }

  sqlite3_vfs* unix_;
  sqlite3_vfs vfs_;
  int wal_opens_ = 0;
  int creating_ = 0;
};

// The unix VFS syncs the directory of every WAL it opens with CREATE, once
// per process: a process that opens the store's existing WAL must not ask
// for it, and one that finds no WAL must.
TEST(SqliteStoreTest, OpensAnExistingWalWithoutCreatingItSoItsDirectoryIsNotSyncedAgain) {
  ScratchDir dir;
  WalOpenRecorder recorder;
  auto store = OpenSqlite(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateAcquireRequest(MakeRequest("req-1", "t", 1), -1).ok());
  store.reset();
  ASSERT_GE(recorder.wal_opens(), 1);
  EXPECT_EQ(recorder.creating(), recorder.wal_opens()) << "the first open creates the WAL";

  const int before = recorder.wal_opens();
  store = OpenSqlite(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateAcquireRequest(MakeRequest("req-2", "t", 1), -1).ok());
  auto both = store->GetRequests({"req-1", "req-2"});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->size(), 2u);
  store.reset();
  EXPECT_GT(recorder.wal_opens(), before);
  EXPECT_EQ(recorder.creating(), before) << "the WAL was there: opened without CREATE";
}

TEST(SqliteStoreTest, WaitsForAnotherWriterOnlyAsLongAsTheBusyTimeout) {
  ScratchDir dir;
  StoreOptions o = FileStoreOptions("sqlite", dir.path());
  o.busy_timeout_ms = 100;
  auto store = SqliteStore::Open(o);
  ASSERT_TRUE(store.ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  Status s = (*store)->Commit({{MakeRequest("req-1", "t", 1)}, {}});
  EXPECT_EQ(s.code(), ErrorCode::kStorageError) << s.ToString();
  EXPECT_TRUE((*store)->GetRequests({"req-1"}).ok());  // readers are not blocked

  ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_TRUE((*store)->Commit({{MakeRequest("req-1", "t", 1)}, {}}).ok());
}

}  // namespace
}  // namespace ohfp
