// A store in one JSON file, for small installations and for tools that want
// to read the state with nothing but a text editor.
//
// The file holds {"version": 1, "requests": {id: {...}}, "machines": {id:
// {...}}} with the records of record_json.h. Each call takes an flock on
// "<file>.lock" (shared to read, exclusive to write), reads the whole file,
// and a write replaces it atomically: a temporary file in the same directory
// is written and synced, renamed over the state file, and the directory is
// synced. A reader or a process killed mid-write therefore sees the old or the
// new file, never a torn one; a file that is not valid state JSON is reported
// as kStorageError and never reset.
//
// Cost: every call parses, and every write rewrites, the whole file, so each
// operation is linear in the number of records held. Use the SQLite store for
// long histories.
//
// One JsonStore belongs to one thread; a forked child must open its own.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "store/store.h"

namespace ohfp {

class JsonStore : public Store {
 public:
  /// Opens `options.path`, creating an empty state file (0600) and its lock
  /// file if missing; an existing file must be valid state JSON.
  static Result<std::unique_ptr<JsonStore>> Open(const StoreOptions& options);

  /// Copies the state file at `options.path` to `dest` (created 0600; kConflict
  /// if it exists) under a shared lock, so the copy is one committed state.
  static Status BackupFile(const StoreOptions& options, const std::string& dest);

  ~JsonStore() override;
  JsonStore(const JsonStore&) = delete;
  JsonStore& operator=(const JsonStore&) = delete;

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
  std::string TypeName() const override { return "json"; }

 private:
  class Lock;

  // The whole file, as held in memory between reading and writing it.
  struct State {
    std::map<std::string, Request> requests;
    std::map<std::string, Machine> machines;
  };

  JsonStore(std::string path, int lock_fd, int busy_timeout_ms);

  /// Reads the state file; a missing file is an empty state.
  Result<State> Load();
  Status Save(const State& state);
  static int64_t HeldCountOf(const State& state, const std::string& template_id);

  std::string path_;
  int lock_fd_;
  int busy_timeout_ms_;
};

}  // namespace ohfp
