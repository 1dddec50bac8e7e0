#include "cli/migrate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "config/provider_config.h"
#include "contract/output.h"
#include "store/migration.h"
#include "store/store.h"

namespace ohfp {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

/// The files that make up a store of `type` at `path`.
std::vector<std::string> StoreFiles(const std::string& type, const std::string& path) {
  if (type == "sqlite") return {path, path + "-wal", path + "-shm"};
  return {path, path + ".lock"};
}

std::string DefaultPath(const std::string& type, const ProviderConfig* config,
                        const Directories& dirs) {
  if (config != nullptr && config->storage.strategy == type && !config->storage.path.empty()) {
    return config->storage.path;
  }
  std::string data = dirs.workdir + "/data/";
  return type == "sqlite" ? data + "ohfp.db" : data + "request_database.json";
}

/// Copies the store's files to <path>.backup-<epoch>; the copy is consistent
/// because nothing else writes while a migration runs.
Result<std::string> Backup(const std::string& type, const std::string& path, int64_t now) {
  std::string suffix = ".backup-" + std::to_string(now);
  for (const auto& file : StoreFiles(type, path)) {
    if (!fs::exists(file) || file.ends_with(".lock") || file.ends_with("-shm")) continue;
    std::error_code ec;
    fs::copy_file(file, file + suffix, fs::copy_options::overwrite_existing, ec);
    if (ec) return Status::Storage("backup of " + file + " failed: " + ec.message());
    ::chmod((file + suffix).c_str(), 0600);
  }
  return path + suffix;
}

int Fail(const Status& s, const Clock& clock) {
  spdlog::error("migrateRepository: {}", s.ToString());
  std::string text = FormatError(s, "", clock.NowSeconds()).dump(2) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return ExitCodeFor(s.code());
}

}  // namespace

void AddMigrateOptions(CLI::App& command, MigrateOptions* o) {
  command.add_option("--source-type", o->source_type, "json or sqlite")->required();
  command.add_option("--target-type", o->target_type, "json or sqlite")->required();
  command.add_option("--source-path", o->source_path, "Source store file");
  command.add_option("--target-path", o->target_path, "Target store file");
  command.add_option("--batch-size", o->batch_size, "Records per transaction (default 100)");
  command.add_flag("--create-backup", o->create_backup, "Copy the source files first");
  command.add_flag("--validate-after", o->validate_after, "Compare every record afterwards");
  command.add_flag("--cleanup-source", o->cleanup_source, "Remove the source when done");
}

int RunMigrate(const MigrateOptions& o, const std::string& config_path, const Clock& clock) {
  const int64_t started = clock.MonotonicMillis();
  for (const auto* type : {&o.source_type, &o.target_type}) {
    if (*type != "json" && *type != "sqlite") {
      return Fail(Status::InvalidRequest("store type '" + *type + "' is not json or sqlite"),
                  clock);
    }
  }
  if (o.batch_size < 1 || o.batch_size > 100000) {
    return Fail(Status::InvalidRequest("--batch-size must be between 1 and 100000"), clock);
  }

  auto env = CurrentEnvironment();
  Directories dirs = ResolveDirectories(env);
  // A config without a region is fine here: migration never calls AWS.
  auto config = LoadProviderConfig(dirs, config_path, env);
  const ProviderConfig* cfg = config.ok() ? &*config : nullptr;
  StoreOptions source{o.source_type, o.source_path};
  StoreOptions target{o.target_type, o.target_path};
  if (source.path.empty()) source.path = DefaultPath(o.source_type, cfg, dirs);
  if (target.path.empty()) target.path = DefaultPath(o.target_type, cfg, dirs);
  if (fs::weakly_canonical(source.path) == fs::weakly_canonical(target.path)) {
    return Fail(Status::InvalidRequest("source and target are the same file"), clock);
  }
  if (!fs::exists(source.path)) {
    return Fail(Status::InvalidRequest("source store " + source.path + " does not exist"), clock);
  }

  std::string backup_path;
  if (o.create_backup) {
    auto b = Backup(o.source_type, source.path, clock.NowSeconds());
    if (!b.ok()) return Fail(b.status(), clock);
    backup_path = *b;
  }

  auto from = OpenStore(source);
  if (!from.ok()) return Fail(from.status(), clock);
  auto to = OpenStore(target);
  if (!to.ok()) return Fail(to.status(), clock);

  MigrationOptions options;
  options.batch_size = o.batch_size;
  options.validate_after = o.validate_after;
  auto report = MigrateStore(**from, **to, options);
  if (!report.ok()) return Fail(report.status(), clock);

  bool cleaned = false;
  if (o.cleanup_source) {
    from->reset();  // close before removing its files
    for (const auto& file : StoreFiles(o.source_type, source.path)) ::unlink(file.c_str());
    cleaned = true;
  }

  RandomIdGenerator ids;
  double seconds = static_cast<double>(clock.MonotonicMillis() - started) / 1000.0;
  json out = {
      {"migration_id", "mig-" + ids.NewUuid()},
      {"source_type", o.source_type},
      {"target_type", o.target_type},
      {"source_path", source.path},
      {"target_path", target.path},
      {"status", "COMPLETED"},
      {"records_migrated", report->records_migrated},
      {"requests_migrated", report->requests},
      {"machines_migrated", report->machines},
      {"duration_seconds", seconds},
      {"backup_created", !backup_path.empty()},
      {"backup_path", backup_path.empty() ? json(nullptr) : json(backup_path)},
      {"validated", report->validated},
      {"source_removed", cleaned},
  };
  spdlog::info("migrated {} records {} -> {}", report->records_migrated, source.path, target.path);
  std::string text = out.dump(2) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace ohfp
