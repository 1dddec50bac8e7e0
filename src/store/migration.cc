#include "store/migration.h"

#include <chrono>
#include <ctime>

#include "store/json_store.h"
#include "store/sqlite_store.h"

namespace ohfp {
namespace {

Status Mismatch(const std::string& what, nlohmann::json details) {
  return Status::Error(ErrorCode::kStorageError, "migration check failed: " + what,
                       std::move(details));
}

Status CopyRequests(Store& source, Store& target, int64_t batch, MigrationReport* report) {
  std::string after;
  for (;;) {
    auto page = source.ScanRequests(after, batch);
    if (!page.ok()) return page.status();
    if (page->empty()) return Status();
    StoreChange change;
    change.requests = std::move(*page);
    OHFP_RETURN_IF_ERROR(target.Commit(change));
    report->requests += static_cast<int64_t>(change.requests.size());
    after = change.requests.back().request_id;
    if (static_cast<int64_t>(change.requests.size()) < batch) return Status();
  }
}

Status CopyMachines(Store& source, Store& target, int64_t batch, MigrationReport* report) {
  std::string after;
  for (;;) {
    auto page = source.ScanMachines(after, batch);
    if (!page.ok()) return page.status();
    if (page->empty()) return Status();
    StoreChange change;
    change.machines = std::move(*page);
    OHFP_RETURN_IF_ERROR(target.Commit(change));
    report->machines += static_cast<int64_t>(change.machines.size());
    after = change.machines.back().machine_id;
    if (static_cast<int64_t>(change.machines.size()) < batch) return Status();
  }
}

Status CompareCounts(Store& source, Store& target) {
  auto sr = source.CountRequests();
  auto tr = target.CountRequests();
  auto sm = source.CountMachines();
  auto tm = target.CountMachines();
  for (const Status* s : {&sr.status(), &tr.status(), &sm.status(), &tm.status()}) {
    OHFP_RETURN_IF_ERROR(*s);
  }
  if (*sr != *tr || *sm != *tm) {
    return Mismatch("the stores hold different numbers of records", {{"source_requests", *sr},
                                                                     {"target_requests", *tr},
                                                                     {"source_machines", *sm},
                                                                     {"target_machines", *tm}});
  }
  return Status();
}

Status CompareRequests(Store& source, Store& target, int64_t batch) {
  std::string after;
  for (;;) {
    auto page = source.ScanRequests(after, batch);
    if (!page.ok()) return page.status();
    if (page->empty()) return Status();
    std::vector<std::string> ids;
    for (const Request& r : *page) ids.push_back(r.request_id);
    auto copies = target.GetRequests(ids);
    if (!copies.ok()) return copies.status();
    for (size_t i = 0; i < page->size(); ++i) {
      const Request& want = (*page)[i];
      if (i >= copies->size() || (*copies)[i] != want) {
        return Mismatch("request " + want.request_id + " differs in the target",
                        {{"request_id", want.request_id}});
      }
    }
    after = page->back().request_id;
  }
}

Status CompareMachines(Store& source, Store& target, int64_t batch) {
  std::string after;
  for (;;) {
    auto page = source.ScanMachines(after, batch);
    if (!page.ok()) return page.status();
    if (page->empty()) return Status();
    std::vector<std::string> ids;
    for (const Machine& m : *page) ids.push_back(m.machine_id);
    auto copies = target.GetMachines(ids);
    if (!copies.ok()) return copies.status();
    for (size_t i = 0; i < page->size(); ++i) {
      const Machine& want = (*page)[i];
      if (i >= copies->size() || (*copies)[i] != want) {
        return Mismatch("machine " + want.machine_id + " differs in the target",
                        {{"machine_id", want.machine_id}});
      }
    }
    after = page->back().machine_id;
  }
}

std::string CompactUtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

Result<MigrationReport> MigrateStore(Store& source, Store& target,
                                     const MigrationOptions& options) {
  if (options.batch_size <= 0) {
    return Status::InvalidRequest("migration batch size must be positive");
  }
  auto start = std::chrono::steady_clock::now();
  MigrationReport report;
  OHFP_RETURN_IF_ERROR(CopyRequests(source, target, options.batch_size, &report));
  OHFP_RETURN_IF_ERROR(CopyMachines(source, target, options.batch_size, &report));
  report.records_migrated = report.requests + report.machines;

  if (options.validate_after) {
    OHFP_RETURN_IF_ERROR(CompareCounts(source, target));
    OHFP_RETURN_IF_ERROR(CompareRequests(source, target, options.batch_size));
    OHFP_RETURN_IF_ERROR(CompareMachines(source, target, options.batch_size));
    report.validated = true;
  }
  report.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

Status BackupStoreFile(const StoreOptions& options, std::string* backup_path) {
  if (options.type != "sqlite" && options.type != "json") {
    return Status::Configuration("unknown store type '" + options.type + "'");
  }
  std::string base = options.path + ".backup-" + CompactUtcNow();
  // Two backups within one second get "-2", "-3", ... rather than overwriting.
  for (int n = 1; n < 1000; ++n) {
    std::string candidate = n == 1 ? base : base + "-" + std::to_string(n);
    Status s = options.type == "sqlite" ? SqliteStore::BackupFile(options, candidate)
                                        : JsonStore::BackupFile(options, candidate);
    if (s.code() == ErrorCode::kConflict) continue;
    if (s.ok()) *backup_path = candidate;
    return s;
  }
  return Status::Storage("too many backups of " + options.path + " this second");
}

}  // namespace ohfp
