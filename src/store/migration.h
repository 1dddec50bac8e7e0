// Copying the whole state from one store to another (e.g. json -> sqlite),
// and taking a consistent backup of a store file before such a change.
#pragma once

#include <cstdint>
#include <string>

#include "store/store.h"

namespace ohfp {

struct MigrationOptions {
  int64_t batch_size = 100;     // records read and committed per transaction
  bool validate_after = false;  // compare counts and every record afterwards
};

struct MigrationReport {
  int64_t records_migrated = 0;  // requests + machines
  int64_t requests = 0;
  int64_t machines = 0;
  double duration_seconds = 0;
  bool validated = false;  // validation ran and found the stores identical
};

/// Upserts every request and machine of `source` into `target`, batch_size
/// records per Commit; with validate_after, fails with kStorageError (details
/// name the first difference) unless both stores then hold the same records.
/// Running it again after an interruption is safe: records are upserted.
Result<MigrationReport> MigrateStore(Store& source, Store& target, const MigrationOptions& options);

/// Writes a consistent copy of the store file described by `options` next to
/// it ("<path>.backup-<UTC time>", mode 0600), taken while no writer can
/// change it, and sets `*backup_path` to the copy's name.
Status BackupStoreFile(const StoreOptions& options, std::string* backup_path);

}  // namespace ohfp
