#include "store/sqlite_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_set>

#include "store/store_files.h"

namespace ohfp {
namespace {

// WAL pages after which a commit also checkpoints, and how long that
// checkpoint may wait for readers and writers before leaving it to a later
// commit.
constexpr int kWalCheckpointPages = 64;
constexpr int kCheckpointWaitMs = 20;

// Every process is the first to open the store, so SQLite rebuilds its WAL
// index by reading every frame the WAL file holds (about 2.6 us each here).
// SQLite's own checkpoint leaves the frames in the file, and a process that
// did not see that checkpoint cannot tell: the WAL then only grows, and every
// call reads all of it. A TRUNCATE checkpoint empties the file, so an open
// reads at most kWalCheckpointPages frames. A requestMachines writes about
// 20 pages: one call in three or four also syncs the (small) database.
// `busy_timeout_ms` points to the store's own timeout, restored afterwards.
int CheckpointLongWal(void* busy_timeout_ms, sqlite3* db, const char* name, int pages) {
  if (pages < kWalCheckpointPages) return SQLITE_OK;
  sqlite3_busy_timeout(db, kCheckpointWaitMs);
  // SQLITE_BUSY leaves the WAL as it is, valid and complete; the next commit
  // tries again.
  sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  sqlite3_busy_timeout(db, *static_cast<const int*>(busy_timeout_ms));
  return SQLITE_OK;
}

// SQLite's unix VFS fsyncs a journal's or WAL's directory after the first
// sync of a file it opened with SQLITE_OPEN_CREATE, and the pager always asks
// for CREATE. Every ohfp process is a new connection, so every call that
// commits durably paid a directory fsync (0.3 to 1.4 ms here), although the
// WAL is persistent (Configure) and its directory entry was made durable by
// the process that created it. This VFS opens a WAL that exists without
// CREATE; a missing one is created, and its directory synced, as before.
// Everything else is the unix VFS's own.
int OpenWal(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* unix_vfs = sqlite3_vfs_find("unix");
  const int creating_wal = SQLITE_OPEN_WAL | SQLITE_OPEN_CREATE;
  if (name != nullptr && (flags & creating_wal) == creating_wal && ::access(name, F_OK) == 0) {
    int rc = unix_vfs->xOpen(unix_vfs, name, file, flags & ~SQLITE_OPEN_CREATE, out_flags);
    if (rc == SQLITE_OK) return rc;
    // Gone since: created below.
  }
  return unix_vfs->xOpen(unix_vfs, name, file, flags, out_flags);
}

// The VFS stores open with: the one above while the unix VFS is the
// default; any other default (a test's) is used as it is.
const char* StoreVfs() {
  sqlite3_vfs* default_vfs = sqlite3_vfs_find(nullptr);
  if (default_vfs == nullptr || std::strcmp(default_vfs->zName, "unix") != 0) return nullptr;
  static const char* const name = [default_vfs] {
    static sqlite3_vfs vfs = *default_vfs;
    vfs.zName = "ohfp-unix";
    vfs.xOpen = &OpenWal;
    sqlite3_vfs_register(&vfs, 0);
    return vfs.zName;
  }();
  return name;
}

// Version 1. Indexes serve every per-request lookup; the two partial indexes
// hold only live machines, so listing them and counting held hosts cost in
// proportion to the live fleet, not to the history of terminated machines.
// The live predicate must match IsLive() in core/model.cc.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE requests (
  request_id      TEXT PRIMARY KEY NOT NULL,
  kind            TEXT NOT NULL,
  template_id     TEXT NOT NULL DEFAULT '',
  provider_api    TEXT NOT NULL DEFAULT '',
  machine_count   INTEGER NOT NULL DEFAULT 0,
  state           TEXT NOT NULL,
  message         TEXT NOT NULL DEFAULT '',
  client_token    TEXT NOT NULL DEFAULT '',
  handles         TEXT NOT NULL DEFAULT '{}',
  machine_ids     TEXT NOT NULL DEFAULT '[]',
  created_at      INTEGER NOT NULL DEFAULT 0,
  updated_at      INTEGER NOT NULL DEFAULT 0,
  completed_at    INTEGER NOT NULL DEFAULT 0,
  launch_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX requests_template_state ON requests (template_id, state);
CREATE INDEX requests_kind_created ON requests (kind, created_at, request_id);
CREATE INDEX requests_created ON requests (created_at, request_id);
CREATE INDEX requests_state ON requests (state);
CREATE TABLE machines (
  machine_id        TEXT PRIMARY KEY NOT NULL,
  name              TEXT NOT NULL DEFAULT '',
  request_id        TEXT NOT NULL DEFAULT '',
  return_request_id TEXT NOT NULL DEFAULT '',
  template_id       TEXT NOT NULL DEFAULT '',
  state             TEXT NOT NULL DEFAULT '',
  state_reason      TEXT NOT NULL DEFAULT '',
  private_ip        TEXT NOT NULL DEFAULT '',
  public_ip         TEXT NOT NULL DEFAULT '',
  instance_type     TEXT NOT NULL DEFAULT '',
  price_type        TEXT NOT NULL DEFAULT '',
  launch_time       INTEGER NOT NULL DEFAULT 0,
  updated_at        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX machines_request ON machines (request_id, machine_id);
CREATE INDEX machines_name ON machines (name);
CREATE INDEX machines_state ON machines (state);
CREATE INDEX machines_template ON machines (template_id);
CREATE INDEX machines_live ON machines (machine_id)
  WHERE state NOT IN ('terminated', 'shutting-down');
CREATE INDEX machines_held ON machines (request_id)
  WHERE state NOT IN ('terminated', 'shutting-down') AND return_request_id = '';
)sql";

// The schema as steps, one per version: a new store runs them all, an older
// one those past its version, in the transaction that sets the version.
constexpr const char* kSchemaSteps[] = {
    kSchemaV1,
    // Version 2: no query looks machines up by state or template alone, and
    // every index is one more page each machine change writes to the WAL
    // and one more statement every process parses when it opens the store.
    "DROP INDEX machines_state; DROP INDEX machines_template;",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kSchemaSteps));

constexpr const char* kRequestColumns =
    "request_id, kind, template_id, provider_api, machine_count, state, message, "
    "client_token, handles, machine_ids, created_at, updated_at, completed_at, "
    "launch_attempts";
constexpr const char* kMachineColumns =
    "machine_id, name, request_id, return_request_id, template_id, state, state_reason, "
    "private_ip, public_ip, instance_type, price_type, launch_time, updated_at";

// Placeholder counts for IN (...) lookups. Lists are cut into chunks of at most
// the largest size and each chunk is padded with NULL (which matches nothing)
// up to the next size, so a handful of statements serve any list length.
constexpr int kInListSizes[] = {1, 4, 16, 64, 256, 500};
constexpr int kMaxInList = 500;

int InListSize(size_t n) {
  for (int size : kInListSizes) {
    if (n <= static_cast<size_t>(size)) return size;
  }
  return kMaxInList;
}

std::string Placeholders(int n) {
  std::string s = "(";
  for (int i = 0; i < n; ++i) s += i == 0 ? "?" : ", ?";
  return s + ")";
}

std::string ColumnText(sqlite3_stmt* stmt, int col) {
  const unsigned char* text = sqlite3_column_text(stmt, col);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt, col));
}

void BindText(sqlite3_stmt* stmt, int index, const std::string& s) {
  sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

std::string DumpJson(const nlohmann::json& j) {
  // Invalid UTF-8 from a cloud message must not make a write fail: such bytes
  // are replaced rather than losing the record.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Request> RequestFromRow(sqlite3_stmt* stmt) {
  Request r;
  r.request_id = ColumnText(stmt, 0);
  auto kind = ParseRequestKind(ColumnText(stmt, 1));
  auto state = ParseRequestState(ColumnText(stmt, 5));
  if (!kind || !state) {
    return Status::Storage("request " + r.request_id + " has an unknown kind or state");
  }
  r.kind = *kind;
  r.template_id = ColumnText(stmt, 2);
  r.provider_api = ColumnText(stmt, 3);
  r.machine_count = sqlite3_column_int64(stmt, 4);
  r.state = *state;
  r.message = ColumnText(stmt, 6);
  r.client_token = ColumnText(stmt, 7);
  try {
    r.handles = nlohmann::json::parse(ColumnText(stmt, 8));
    nlohmann::json ids = nlohmann::json::parse(ColumnText(stmt, 9));
    r.machine_ids = ids.get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Storage("request " + r.request_id + " has unreadable JSON: " + e.what());
  }
  r.created_at = sqlite3_column_int64(stmt, 10);
  r.updated_at = sqlite3_column_int64(stmt, 11);
  r.completed_at = sqlite3_column_int64(stmt, 12);
  r.launch_attempts = sqlite3_column_int64(stmt, 13);
  return r;
}

Machine MachineFromRow(sqlite3_stmt* stmt) {
  Machine m;
  m.machine_id = ColumnText(stmt, 0);
  m.name = ColumnText(stmt, 1);
  m.request_id = ColumnText(stmt, 2);
  m.return_request_id = ColumnText(stmt, 3);
  m.template_id = ColumnText(stmt, 4);
  m.state = ColumnText(stmt, 5);
  m.state_reason = ColumnText(stmt, 6);
  m.private_ip = ColumnText(stmt, 7);
  m.public_ip = ColumnText(stmt, 8);
  m.instance_type = ColumnText(stmt, 9);
  m.price_type = ColumnText(stmt, 10);
  m.launch_time = sqlite3_column_int64(stmt, 11);
  m.updated_at = sqlite3_column_int64(stmt, 12);
  return m;
}

// `keys` without duplicates or (when `skip_empty`) empty strings, first occurrence kept.
std::vector<std::string> UniqueKeys(const std::vector<std::string>& keys, bool skip_empty) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const std::string& k : keys) {
    if (skip_empty && k.empty()) continue;
    if (seen.insert(k).second) out.push_back(k);
  }
  return out;
}

}  // namespace

// Resets a cached statement when the caller is done with it, which also ends
// the implicit read transaction a half-stepped SELECT would keep open.
class SqliteStore::Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_reset(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// An explicit transaction that rolls back unless Commit() succeeded.
class SqliteStore::Transaction {
 public:
  explicit Transaction(SqliteStore* store) : store_(store) {}
  ~Transaction() {
    if (open_) sqlite3_exec(store_->db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// IMMEDIATE takes the write lock up front: a transaction that reads and then
  /// writes can then never fail half way with SQLITE_BUSY on the upgrade.
  Status Begin(bool write) {
    OHFP_RETURN_IF_ERROR(store_->Exec(write ? "BEGIN IMMEDIATE" : "BEGIN"));
    open_ = true;
    return Status();
  }

  Status Commit() {
    OHFP_RETURN_IF_ERROR(store_->Exec("COMMIT"));
    open_ = false;
    return Status();
  }

 private:
  SqliteStore* store_;
  bool open_ = false;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const StoreOptions& options) {
  if (options.path.empty()) return Status::Configuration("the SQLite store needs a path");
  OHFP_RETURN_IF_ERROR(EnsureParentDirectory(options.path));
  // SQLite would create the file with 0644; creating it first makes it 0600,
  // and SQLite gives the -wal and -shm files the database file's mode.
  OHFP_RETURN_IF_ERROR(CreateFileIfMissing(options.path));

  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(options.path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                           StoreVfs());
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::Storage("cannot open SQLite store " + options.path + ": " + msg);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, options.path, options.busy_timeout_ms));
  OHFP_RETURN_IF_ERROR(store->Configure());
  OHFP_RETURN_IF_ERROR(store->MigrateSchema());
  return store;
}

Status SqliteStore::BackupFile(const StoreOptions& options, const std::string& dest) {
  if (::access(options.path.c_str(), F_OK) != 0) {
    return Status::NotFound("no SQLite store at " + options.path);
  }
  // VACUUM INTO wants a missing or empty file; creating it first with O_EXCL
  // fixes its mode to 0600 and never overwrites an earlier backup.
  OHFP_RETURN_IF_ERROR(WriteNewFile(dest, ""));
  auto store = Open(options);
  Status s = store.status();
  if (s.ok()) {
    auto stmt = (*store)->Prepare("VACUUM INTO ?1");
    s = stmt.status();
    if (s.ok()) {
      Statement guard(*stmt);
      BindText(*stmt, 1, dest);
      if (sqlite3_step(*stmt) != SQLITE_DONE) s = (*store)->Error("cannot back up into " + dest);
    }
  }
  // VACUUM INTO does not sync its output.
  if (s.ok()) s = SyncFileAndDirectory(dest);
  if (!s.ok()) ::unlink(dest.c_str());
  return s;
}

SqliteStore::SqliteStore(sqlite3* db, std::string path, int busy_timeout_ms)
    : db_(db), path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}

SqliteStore::~SqliteStore() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status SqliteStore::Error(const std::string& what) const {
  int code = sqlite3_errcode(db_);
  std::string msg = what + " (" + path_ + "): " + sqlite3_errmsg(db_);
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    msg += " after waiting " + std::to_string(busy_timeout_ms_) + " ms";
  }
  return Status::Error(ErrorCode::kStorageError, msg, {{"sqlite_code", code}});
}

Status SqliteStore::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error(std::string("SQLite: ") + sql);
  }
  return Status();
}

Status SqliteStore::Configure() {
  sqlite3_busy_timeout(db_, busy_timeout_ms_);

  // Every ohfp process opens the store once, makes a change or two and
  // exits. By default the last connection to close checkpoints the WAL into
  // the database and deletes it, and the next process creates it again:
  // four extra fsyncs (WAL header, directory, WAL and database at the
  // checkpoint) around the one each commit needs. Keeping the WAL and
  // checkpointing only in the commit that takes it past kWalCheckpointPages
  // (CheckpointLongWal) spreads that cost over several calls. Durability is
  // unchanged: a commit is synced in the WAL.
  int on = 1;
  sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);

  // Switching to WAL needs an exclusive lock for a moment. The busy handler
  // does not cover every path of this pragma, so processes that open a new
  // database together retry here until the deadline.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
  for (;;) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr);
    std::string mode;
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) mode = ColumnText(stmt, 0);
    }
    sqlite3_finalize(stmt);
    if (mode == "wal") break;
    bool busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_ROW;
    if (!busy || std::chrono::steady_clock::now() > deadline) {
      return Error("cannot switch the SQLite store to WAL mode");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // FULL syncs the WAL on every commit. NORMAL already survives kill -9 (the
  // WAL is in the page cache), but a power loss could then drop the last
  // commits, and a lost acquisition record means cloud machines nobody
  // tracks. Changes the cloud can tell again ask for NORMAL (SetDurability).
  OHFP_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
  durability_ = Durability::kPowerLoss;
  sqlite3_wal_hook(db_, CheckpointLongWal, &busy_timeout_ms_);
  return Status();
}

Status SqliteStore::SetDurability(Durability durability) {
  if (durability == durability_) return Status();
  // A NORMAL commit reaches the disk with the next FULL one, which syncs the
  // whole WAL, or with the next checkpoint.
  OHFP_RETURN_IF_ERROR(Exec(durability == Durability::kPowerLoss ? "PRAGMA synchronous=FULL"
                                                                 : "PRAGMA synchronous=NORMAL"));
  durability_ = durability;
  return Status();
}

Result<int> SqliteStore::SchemaVersion() {
  auto stmt = Prepare("PRAGMA user_version");
  if (!stmt.ok()) return stmt.status();
  Statement guard(*stmt);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return Error("cannot read the schema version");
  return sqlite3_column_int(*stmt, 0);
}

Status SqliteStore::MigrateSchema() {
  // The schema and its version are written in one transaction, so a current
  // version read outside any transaction means the schema is there: every
  // open after the first takes no write lock.
  auto current = SchemaVersion();
  if (!current.ok()) return current.status();
  if (*current == kSchemaVersion) return Status();

  // Inside one IMMEDIATE transaction, so concurrent first opens create the
  // schema exactly once; the others wait and then see user_version set.
  Transaction txn(this);
  OHFP_RETURN_IF_ERROR(txn.Begin(true));
  auto read = SchemaVersion();
  if (!read.ok()) return read.status();
  const int version = *read;
  if (version > kSchemaVersion) {
    return Status::Storage("SQLite store " + path_ + " has schema version " +
                           std::to_string(version) + ", newer than this ohfp (" +
                           std::to_string(kSchemaVersion) + ")");
  }
  if (version < kSchemaVersion) {
    for (int step = version; step < kSchemaVersion; ++step) {
      OHFP_RETURN_IF_ERROR(Exec(kSchemaSteps[step]));
    }
    std::string set = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
    OHFP_RETURN_IF_ERROR(Exec(set.c_str()));
  }
  return txn.Commit();
}

Result<sqlite3_stmt*> SqliteStore::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return it->second;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
      SQLITE_OK) {
    return Error("cannot prepare SQL");
  }
  statements_.emplace(sql, stmt);
  return stmt;
}

int64_t SqliteStore::VirtualMachineSteps() const {
  int64_t steps = 0;
  for (const auto& [sql, stmt] : statements_) {
    steps += sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 0);
  }
  return steps;
}

std::vector<std::pair<std::string, std::string>> SqliteStore::CachedQueryPlans() {
  std::vector<std::pair<std::string, std::string>> plans;
  for (const auto& [sql, cached] : statements_) {
    sqlite3_stmt* stmt = nullptr;
    std::string explain = "EXPLAIN QUERY PLAN " + sql;
    std::string plan;
    if (sqlite3_prepare_v2(db_, explain.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) plan += ColumnText(stmt, 3) + "\n";
    }
    sqlite3_finalize(stmt);
    plans.emplace_back(sql, plan);
  }
  return plans;
}

Status SqliteStore::UpsertRequest(const Request& r) {
  static const std::string sql = std::string("INSERT INTO requests (") + kRequestColumns +
                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                 "ON CONFLICT (request_id) DO UPDATE SET "
                                 "kind = excluded.kind, template_id = excluded.template_id, "
                                 "provider_api = excluded.provider_api, "
                                 "machine_count = excluded.machine_count, "
                                 "state = excluded.state, message = excluded.message, "
                                 "client_token = excluded.client_token, "
                                 "handles = excluded.handles, "
                                 "machine_ids = excluded.machine_ids, "
                                 "created_at = excluded.created_at, "
                                 "updated_at = excluded.updated_at, "
                                 "completed_at = excluded.completed_at, "
                                 "launch_attempts = excluded.launch_attempts";
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Statement guard(*stmt);
  sqlite3_stmt* s = *stmt;
  BindText(s, 1, r.request_id);
  BindText(s, 2, RequestKindName(r.kind));
  BindText(s, 3, r.template_id);
  BindText(s, 4, r.provider_api);
  sqlite3_bind_int64(s, 5, r.machine_count);
  BindText(s, 6, RequestStateName(r.state));
  BindText(s, 7, r.message);
  BindText(s, 8, r.client_token);
  BindText(s, 9, DumpJson(r.handles));
  BindText(s, 10, DumpJson(nlohmann::json(r.machine_ids)));
  sqlite3_bind_int64(s, 11, r.created_at);
  sqlite3_bind_int64(s, 12, r.updated_at);
  sqlite3_bind_int64(s, 13, r.completed_at);
  sqlite3_bind_int64(s, 14, r.launch_attempts);
  if (sqlite3_step(s) != SQLITE_DONE) return Error("cannot write request " + r.request_id);
  return Status();
}

Status SqliteStore::UpsertMachine(const Machine& m) {
  static const std::string sql = std::string("INSERT INTO machines (") + kMachineColumns +
                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                 "ON CONFLICT (machine_id) DO UPDATE SET "
                                 "name = excluded.name, request_id = excluded.request_id, "
                                 "return_request_id = CASE excluded.return_request_id "
                                 "WHEN '' THEN machines.return_request_id "
                                 "ELSE excluded.return_request_id END, "
                                 "template_id = excluded.template_id, "
                                 "state = excluded.state, "
                                 "state_reason = excluded.state_reason, "
                                 "private_ip = excluded.private_ip, "
                                 "public_ip = excluded.public_ip, "
                                 "instance_type = excluded.instance_type, "
                                 "price_type = excluded.price_type, "
                                 "launch_time = excluded.launch_time, "
                                 "updated_at = excluded.updated_at";
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Statement guard(*stmt);
  sqlite3_stmt* s = *stmt;
  BindText(s, 1, m.machine_id);
  BindText(s, 2, m.name);
  BindText(s, 3, m.request_id);
  BindText(s, 4, m.return_request_id);
  BindText(s, 5, m.template_id);
  BindText(s, 6, m.state);
  BindText(s, 7, m.state_reason);
  BindText(s, 8, m.private_ip);
  BindText(s, 9, m.public_ip);
  BindText(s, 10, m.instance_type);
  BindText(s, 11, m.price_type);
  sqlite3_bind_int64(s, 12, m.launch_time);
  sqlite3_bind_int64(s, 13, m.updated_at);
  if (sqlite3_step(s) != SQLITE_DONE) return Error("cannot write machine " + m.machine_id);
  return Status();
}

Result<std::vector<Request>> SqliteStore::QueryRequests(sqlite3_stmt* stmt) {
  std::vector<Request> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    auto r = RequestFromRow(stmt);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  if (rc != SQLITE_DONE) return Error("cannot read requests");
  return out;
}

Result<std::vector<Machine>> SqliteStore::QueryMachines(sqlite3_stmt* stmt) {
  std::vector<Machine> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) out.push_back(MachineFromRow(stmt));
  if (rc != SQLITE_DONE) return Error("cannot read machines");
  return out;
}

Status SqliteStore::RequestsWhereIn(const std::string& column, const std::vector<std::string>& keys,
                                    std::vector<Request>* out) {
  for (size_t begin = 0; begin < keys.size(); begin += kMaxInList) {
    size_t n = std::min(keys.size() - begin, static_cast<size_t>(kMaxInList));
    int slots = InListSize(n);
    auto stmt = Prepare(std::string("SELECT ") + kRequestColumns + " FROM requests WHERE " +
                        column + " IN " + Placeholders(slots));
    if (!stmt.ok()) return stmt.status();
    Statement guard(*stmt);
    for (size_t i = 0; i < n; ++i) BindText(*stmt, static_cast<int>(i + 1), keys[begin + i]);
    auto rows = QueryRequests(*stmt);
    if (!rows.ok()) return rows.status();
    for (Request& r : *rows) out->push_back(std::move(r));
  }
  return Status();
}

Status SqliteStore::MachinesWhereIn(const std::string& column, const std::vector<std::string>& keys,
                                    std::vector<Machine>* out) {
  for (size_t begin = 0; begin < keys.size(); begin += kMaxInList) {
    size_t n = std::min(keys.size() - begin, static_cast<size_t>(kMaxInList));
    int slots = InListSize(n);
    auto stmt = Prepare(std::string("SELECT ") + kMachineColumns + " FROM machines WHERE " +
                        column + " IN " + Placeholders(slots));
    if (!stmt.ok()) return stmt.status();
    Statement guard(*stmt);
    for (size_t i = 0; i < n; ++i) BindText(*stmt, static_cast<int>(i + 1), keys[begin + i]);
    auto rows = QueryMachines(*stmt);
    if (!rows.ok()) return rows.status();
    for (Machine& m : *rows) out->push_back(std::move(m));
  }
  return Status();
}

Result<int64_t> SqliteStore::HeldCountInTransaction(const std::string& template_id) {
  // Active acquisitions hold max(machine_count, live unreturned machines);
  // final ones hold their live unreturned machines. The second query starts
  // from the live-machine index (CROSS JOIN fixes the loop order) so that the
  // finished requests of a long history are never visited.
  int64_t held = 0;
  {
    auto stmt = Prepare(
        "SELECT r.machine_count, (SELECT COUNT(*) FROM machines AS m INDEXED BY machines_held "
        "WHERE m.request_id = r.request_id "
        "AND m.state NOT IN ('terminated', 'shutting-down') AND m.return_request_id = '') "
        "FROM requests AS r INDEXED BY requests_template_state WHERE r.template_id = ?1 "
        "AND r.state IN ('pending', 'in_progress') AND r.kind = 'acquire'");
    if (!stmt.ok()) return stmt.status();
    Statement guard(*stmt);
    BindText(*stmt, 1, template_id);
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      held += std::max(sqlite3_column_int64(*stmt, 0), sqlite3_column_int64(*stmt, 1));
    }
    if (rc != SQLITE_DONE) return Error("cannot count held hosts");
  }
  {
    auto stmt = Prepare(
        "SELECT COUNT(*) FROM machines AS m INDEXED BY machines_held CROSS JOIN requests AS r "
        "ON r.request_id = m.request_id "
        "WHERE m.state NOT IN ('terminated', 'shutting-down') AND m.return_request_id = '' "
        "AND r.template_id = ?1 AND r.kind = 'acquire' "
        "AND r.state IN ('complete', 'partial', 'failed')");
    if (!stmt.ok()) return stmt.status();
    Statement guard(*stmt);
    BindText(*stmt, 1, template_id);
    if (sqlite3_step(*stmt) != SQLITE_ROW) return Error("cannot count held hosts");
    held += sqlite3_column_int64(*stmt, 0);
  }
  return held;
}

Status SqliteStore::CreateAcquireRequest(const Request& request, int64_t max_number) {
  if (request.kind != RequestKind::kAcquire) {
    return Status::InvalidRequest("CreateAcquireRequest needs an acquisition");
  }
  if (request.request_id.empty()) return Status::InvalidRequest("request without an id");

  OHFP_RETURN_IF_ERROR(SetDurability(Durability::kPowerLoss));
  Transaction txn(this);
  OHFP_RETURN_IF_ERROR(txn.Begin(true));
  {
    auto stmt = Prepare("SELECT 1 FROM requests WHERE request_id = ?1");
    if (!stmt.ok()) return stmt.status();
    Statement guard(*stmt);
    BindText(*stmt, 1, request.request_id);
    int rc = sqlite3_step(*stmt);
    if (rc == SQLITE_ROW) return Status::Conflict("request " + request.request_id + " exists");
    if (rc != SQLITE_DONE) return Error("cannot look up request " + request.request_id);
  }
  if (max_number >= 0) {
    auto held = HeldCountInTransaction(request.template_id);
    if (!held.ok()) return held.status();
    if (*held + request.machine_count > max_number) {
      return Status::Error(
          ErrorCode::kResourceLimitExceeded,
          "template " + request.template_id + " holds " + std::to_string(*held) + " of at most " +
              std::to_string(max_number) + " hosts; " + std::to_string(request.machine_count) +
              " more were requested",
          {{"held", *held}, {"requested", request.machine_count}, {"max", max_number}});
    }
  }
  OHFP_RETURN_IF_ERROR(UpsertRequest(request));
  return txn.Commit();
}

Status SqliteStore::Commit(const StoreChange& change) {
  if (change.empty()) return Status();
  for (const Request& r : change.requests) {
    if (r.request_id.empty()) return Status::InvalidRequest("request without an id");
  }
  for (const Machine& m : change.machines) {
    if (m.machine_id.empty()) return Status::InvalidRequest("machine without an id");
  }
  OHFP_RETURN_IF_ERROR(SetDurability(change.durability));
  Transaction txn(this);
  OHFP_RETURN_IF_ERROR(txn.Begin(true));
  for (const Request& r : change.requests) OHFP_RETURN_IF_ERROR(UpsertRequest(r));
  for (const Machine& m : change.machines) OHFP_RETURN_IF_ERROR(UpsertMachine(m));
  return txn.Commit();
}

Result<std::vector<Request>> SqliteStore::GetRequests(const std::vector<std::string>& ids) {
  std::vector<std::string> keys = UniqueKeys(ids, false);
  std::vector<Request> found;
  {
    Transaction txn(this);  // one snapshot across chunks
    if (keys.size() > static_cast<size_t>(kMaxInList)) OHFP_RETURN_IF_ERROR(txn.Begin(false));
    OHFP_RETURN_IF_ERROR(RequestsWhereIn("request_id", keys, &found));
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < found.size(); ++i) index[found[i].request_id] = i;
  std::vector<Request> out;
  out.reserve(found.size());
  for (const std::string& id : keys) {
    auto it = index.find(id);
    if (it != index.end()) out.push_back(std::move(found[it->second]));
  }
  return out;
}

Result<std::vector<Request>> SqliteStore::ListRequests(const RequestFilter& filter) {
  // Without statistics the planner would prefer the kind index, which walks
  // every request of that kind ever made; active requests are few, so the
  // state-led indexes are named whenever they apply.
  std::string sql = std::string("SELECT ") + kRequestColumns + " FROM requests";
  if (!filter.template_id.empty()) {
    sql += " INDEXED BY requests_template_state";
  } else if (filter.active_only) {
    sql += " INDEXED BY requests_state";
  }
  sql += " WHERE 1";
  if (filter.kind) sql += " AND kind = ?1";
  if (filter.active_only) sql += " AND state IN ('pending', 'in_progress')";
  if (!filter.template_id.empty()) sql += " AND template_id = ?2";
  sql += " ORDER BY created_at DESC, request_id DESC";
  if (filter.limit > 0) sql += " LIMIT ?3";
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Statement guard(*stmt);
  if (filter.kind) BindText(*stmt, 1, RequestKindName(*filter.kind));
  if (!filter.template_id.empty()) BindText(*stmt, 2, filter.template_id);
  if (filter.limit > 0) sqlite3_bind_int64(*stmt, 3, filter.limit);
  return QueryRequests(*stmt);
}

Result<std::vector<Machine>> SqliteStore::MachinesOfRequests(
    const std::vector<std::string>& request_ids) {
  std::vector<std::string> keys = UniqueKeys(request_ids, false);
  std::vector<Machine> out;
  {
    Transaction txn(this);
    if (keys.size() > static_cast<size_t>(kMaxInList)) OHFP_RETURN_IF_ERROR(txn.Begin(false));
    OHFP_RETURN_IF_ERROR(MachinesWhereIn("request_id", keys, &out));
  }
  std::sort(out.begin(), out.end(), [](const Machine& a, const Machine& b) {
    return std::tie(a.request_id, a.machine_id) < std::tie(b.request_id, b.machine_id);
  });
  return out;
}

Result<std::vector<Machine>> SqliteStore::GetMachines(const std::vector<std::string>& machine_ids) {
  std::vector<std::string> keys = UniqueKeys(machine_ids, false);
  std::vector<Machine> found;
  {
    Transaction txn(this);
    if (keys.size() > static_cast<size_t>(kMaxInList)) OHFP_RETURN_IF_ERROR(txn.Begin(false));
    OHFP_RETURN_IF_ERROR(MachinesWhereIn("machine_id", keys, &found));
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < found.size(); ++i) index[found[i].machine_id] = i;
  std::vector<Machine> out;
  out.reserve(found.size());
  for (const std::string& id : keys) {
    auto it = index.find(id);
    if (it != index.end()) out.push_back(std::move(found[it->second]));
  }
  return out;
}

Result<std::vector<Machine>> SqliteStore::FindMachinesByName(
    const std::vector<std::string>& names) {
  std::vector<std::string> keys = UniqueKeys(names, true);
  std::vector<Machine> out;
  {
    Transaction txn(this);
    if (keys.size() > static_cast<size_t>(kMaxInList)) OHFP_RETURN_IF_ERROR(txn.Begin(false));
    OHFP_RETURN_IF_ERROR(MachinesWhereIn("name", keys, &out));
  }
  std::sort(out.begin(), out.end(),
            [](const Machine& a, const Machine& b) { return a.machine_id < b.machine_id; });
  return out;
}

Result<std::vector<Machine>> SqliteStore::ListLiveMachines() {
  auto stmt = Prepare(std::string("SELECT ") + kMachineColumns +
                      " FROM machines INDEXED BY machines_live "
                      "WHERE state NOT IN ('terminated', 'shutting-down') ORDER BY machine_id");
  if (!stmt.ok()) return stmt.status();
  Statement guard(*stmt);
  return QueryMachines(*stmt);
}

Result<int64_t> SqliteStore::HeldCount(const std::string& template_id) {
  Transaction txn(this);
  OHFP_RETURN_IF_ERROR(txn.Begin(false));
  return HeldCountInTransaction(template_id);
}

Result<std::vector<Request>> SqliteStore::ScanRequests(const std::string& after_id, int64_t limit) {
  std::string sql = std::string("SELECT ") + kRequestColumns + " FROM requests";
  if (!after_id.empty()) {
    // Row-value comparison walks the (created_at, request_id) index from the
    // last row returned, so each page costs the same however deep it is.
    sql +=
        " WHERE (created_at, request_id) > "
        "((SELECT created_at FROM requests WHERE request_id = ?1), ?1)";
  }
  sql += " ORDER BY created_at, request_id LIMIT ?2";
  Transaction txn(this);
  OHFP_RETURN_IF_ERROR(txn.Begin(false));
  if (!after_id.empty()) {
    auto exists = Prepare("SELECT 1 FROM requests WHERE request_id = ?1");
    if (!exists.ok()) return exists.status();
    Statement guard(*exists);
    BindText(*exists, 1, after_id);
    if (sqlite3_step(*exists) != SQLITE_ROW) {
      return Status::NotFound("scan position " + after_id + " is not a stored request");
    }
  }
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Statement guard(*stmt);
  if (!after_id.empty()) BindText(*stmt, 1, after_id);
  sqlite3_bind_int64(*stmt, 2, limit > 0 ? limit : -1);
  return QueryRequests(*stmt);
}

Result<std::vector<Machine>> SqliteStore::ScanMachines(const std::string& after_id, int64_t limit) {
  auto stmt = Prepare(std::string("SELECT ") + kMachineColumns +
                      " FROM machines WHERE machine_id > ?1 ORDER BY machine_id LIMIT ?2");
  if (!stmt.ok()) return stmt.status();
  Statement guard(*stmt);
  BindText(*stmt, 1, after_id);
  sqlite3_bind_int64(*stmt, 2, limit > 0 ? limit : -1);
  return QueryMachines(*stmt);
}

Result<int64_t> SqliteStore::CountRequests() {
  auto stmt = Prepare("SELECT COUNT(*) FROM requests");
  if (!stmt.ok()) return stmt.status();
  Statement guard(*stmt);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return Error("cannot count requests");
  return sqlite3_column_int64(*stmt, 0);
}

Result<int64_t> SqliteStore::CountMachines() {
  auto stmt = Prepare("SELECT COUNT(*) FROM machines");
  if (!stmt.ok()) return stmt.status();
  Statement guard(*stmt);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return Error("cannot count machines");
  return sqlite3_column_int64(*stmt, 0);
}

}  // namespace ohfp
