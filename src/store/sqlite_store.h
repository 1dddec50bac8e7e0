// The default store: one SQLite database file in WAL mode.
//
// Every mutation runs in BEGIN IMMEDIATE ... COMMIT, so writers from any
// number of processes are serialised by SQLite's file locks and wait up to
// StoreOptions::busy_timeout_ms for each other; readers never block writers.
// Lookups by id, name, request and template use indexes, and the hosts held
// by a template are counted from the active requests and live machines only,
// so per-request work stays flat as finished history grows.
//
// One SqliteStore belongs to one thread. A process that forks must open its
// own store in the child rather than use the parent's.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace ohfp {

class SqliteStore : public Store {
 public:
  /// Opens or creates the database at `options.path` and brings its schema up
  /// to date; concurrent first opens are safe.
  static Result<std::unique_ptr<SqliteStore>> Open(const StoreOptions& options);

  /// Writes a consistent snapshot of the database at `options.path` to `dest`
  /// (created 0600; kConflict if it exists) while other processes keep working.
  static Status BackupFile(const StoreOptions& options, const std::string& dest);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status CreateAcquireRequest(const Request& request, int64_t max_number) override;
  Status Commit(const StoreChange& change) override;
  Result<std::vector<Request>> GetRequests(const std::vector<std::string>& ids) override;
  Result<std::vector<Request>> ListRequests(const RequestFilter& filter) override;
  Result<std::vector<Machine>> MachinesOfRequests(
      const std::vector<std::string>& request_ids) override;
  Result<std::vector<Machine>> GetMachines(const std::vector<std::string>& machine_ids) override;
  Result<std::vector<Machine>> FindMachinesByName(const std::vector<std::string>& names) override;
  Result<std::vector<Machine>> ListLiveMachines() override;
  Result<int64_t> HeldCount(const std::string& template_id) override;
  Result<std::vector<Request>> ScanRequests(const std::string& after_id, int64_t limit) override;
  Result<std::vector<Machine>> ScanMachines(const std::string& after_id, int64_t limit) override;
  Result<int64_t> CountRequests() override;
  Result<int64_t> CountMachines() override;
  std::string TypeName() const override { return "sqlite"; }

  /// For tests: SQLite virtual-machine steps run by this store's statements so
  /// far, a measure of work that does not depend on the speed of the machine.
  int64_t VirtualMachineSteps() const;

  /// For tests: (SQL, EXPLAIN QUERY PLAN output) of every statement this
  /// store has prepared so far.
  std::vector<std::pair<std::string, std::string>> CachedQueryPlans();

 private:
  class Statement;
  class Transaction;

  SqliteStore(sqlite3* db, std::string path, int busy_timeout_ms);

  Status Configure();
  Status MigrateSchema();
  /// PRAGMA user_version: 0 for a new database.
  Result<int> SchemaVersion();
  Status Exec(const char* sql);
  /// PRAGMA synchronous for the next transaction: FULL or NORMAL.
  Status SetDurability(Durability durability);
  Status Error(const std::string& what) const;

  /// The cached prepared statement for `sql`, reset and ready to bind.
  Result<sqlite3_stmt*> Prepare(const std::string& sql);

  Status UpsertRequest(const Request& r);
  Status UpsertMachine(const Machine& m);
  Result<int64_t> HeldCountInTransaction(const std::string& template_id);
  Result<std::vector<Request>> QueryRequests(sqlite3_stmt* stmt);
  Result<std::vector<Machine>> QueryMachines(sqlite3_stmt* stmt);

  /// Runs `select_prefix` + "(?, …)" + `suffix` over `keys` in chunks and
  /// appends every row to `out`.
  Status RequestsWhereIn(const std::string& column, const std::vector<std::string>& keys,
                         std::vector<Request>* out);
  Status MachinesWhereIn(const std::string& column, const std::vector<std::string>& keys,
                         std::vector<Machine>* out);

  sqlite3* db_;
  std::string path_;
  int busy_timeout_ms_;
  Durability durability_ = Durability::kPowerLoss;
  std::map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace ohfp
