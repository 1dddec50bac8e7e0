// The durable state of ohfp: requests and machines. Every back end (SQLite,
// JSON files, later DynamoDB and PostgreSQL) implements this interface and
// passes the same conformance suite (store_conformance_test.cc).
//
// Invariant: every mutating call is atomic and durable when it returns ok
// (against a power loss too, unless a change says otherwise: Durability). A
// process killed at any point leaves the store readable and holding either
// all or none of a call's change; concurrent processes never lose a change.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace ohfp {

/// What a committed change must survive by the time Commit returns. Every
/// change survives the process being killed.
enum class Durability {
  /// Also a power loss or a kernel crash: synced to disk. For what only the
  /// store knows: a request's id and token before its cloud call, the
  /// machines a return names, that Host Factory has seen a request.
  kPowerLoss,
  /// A power loss may undo it until the next kPowerLoss commit. For what the
  /// cloud can tell again: instance states, instances launched under a
  /// recorded request (they carry its tag). Saves an fsync per call.
  kProcessCrash,
};

/// A set of records to write in one transaction. Records are upserted by id
/// (request_id, machine_id); a record not named is left as it is.
struct StoreChange {
  std::vector<Request> requests;
  std::vector<Machine> machines;
  /// Back ends without a cheaper mode treat kProcessCrash as kPowerLoss.
  Durability durability = Durability::kPowerLoss;
  bool empty() const { return requests.empty() && machines.empty(); }
};

/// What ListRequests returns.
struct RequestFilter {
  std::optional<RequestKind> kind;  // only this kind
  bool active_only = false;         // only requests whose state is not final
  std::string template_id;          // only this template ("" = any)
  int64_t limit = 0;                // at most this many, newest first (0 = all)
};

class Store {
 public:
  virtual ~Store() = default;

  /// Inserts `request` (an acquisition) unless doing so would take its
  /// template past `max_number` held hosts; -1 means unlimited. Held hosts =
  /// for each acquisition of the template, its live machines without a return
  /// request, or its machine_count if larger while it is not final. Fails with
  /// kResourceLimitExceeded (details: held, requested, max) or kConflict if the
  /// id exists. The check and the insert are one atomic step.
  virtual Status CreateAcquireRequest(const Request& request, int64_t max_number) = 0;

  /// Upserts everything in `change` atomically. A machine's
  /// return_request_id, once set, is kept by a commit that carries none: a
  /// poll that read the machine before a return marked it, and writes what
  /// EC2 said of it afterwards, must not unmark it.
  virtual Status Commit(const StoreChange& change) = 0;

  /// The requests with these ids that exist, in the order asked; ids not
  /// found are simply absent.
  virtual Result<std::vector<Request>> GetRequests(const std::vector<std::string>& ids) = 0;

  /// Requests matching `filter`, newest (created_at, then id) first.
  virtual Result<std::vector<Request>> ListRequests(const RequestFilter& filter) = 0;

  /// Machines whose request_id is one of `request_ids`, ordered by
  /// (request_id, machine_id).
  virtual Result<std::vector<Machine>> MachinesOfRequests(
      const std::vector<std::string>& request_ids) = 0;

  /// Machines with these machine ids that exist.
  virtual Result<std::vector<Machine>> GetMachines(const std::vector<std::string>& machine_ids) = 0;

  /// Machines whose name is one of `names`.
  virtual Result<std::vector<Machine>> FindMachinesByName(
      const std::vector<std::string>& names) = 0;

  /// Every machine that IsLive(), ordered by machine_id.
  virtual Result<std::vector<Machine>> ListLiveMachines() = 0;

  /// Hosts held by a template under the rule of CreateAcquireRequest.
  virtual Result<int64_t> HeldCount(const std::string& template_id) = 0;

  /// Every request, oldest first, `limit` at a time after `after_id` (""
  /// starts at the beginning); used by migration and export.
  virtual Result<std::vector<Request>> ScanRequests(const std::string& after_id, int64_t limit) = 0;
  /// Every machine, by machine_id, `limit` at a time after `after_id`.
  virtual Result<std::vector<Machine>> ScanMachines(const std::string& after_id, int64_t limit) = 0;

  /// Number of requests and machines held (for migration checks and stats).
  virtual Result<int64_t> CountRequests() = 0;
  virtual Result<int64_t> CountMachines() = 0;

  /// "sqlite" or "json": the name used in config and migration.
  virtual std::string TypeName() const = 0;
};

/// Where and how to open a store.
struct StoreOptions {
  std::string type = "sqlite";  // "sqlite" | "json"
  std::string path;             // database file (sqlite) or state file (json)
  int busy_timeout_ms = 30000;  // how long to wait for another process's lock
};

/// Opens (creating if needed, with mode 0600 in a 0700 directory) the store
/// described by `options`.
Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);

}  // namespace ohfp
