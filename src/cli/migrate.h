// `ohfp migrateRepository`: copies every request and machine from one store
// type to another (json ↔ sqlite), optionally backing up the source first,
// validating the copy and removing the source afterwards.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "core/clock.h"

namespace ohfp {

struct MigrateOptions {
  std::string source_type;  // json | sqlite
  std::string target_type;
  std::string source_path;  // "" = the default path of that type in the work dir
  std::string target_path;
  int64_t batch_size = 100;
  bool create_backup = false;
  bool validate_after = false;
  bool cleanup_source = false;
};

/// Declares the migrateRepository options on `command`.
void AddMigrateOptions(CLI::App& command, MigrateOptions* options);

/// Runs the migration and prints its report; returns the exit code.
int RunMigrate(const MigrateOptions& options, const std::string& config_path, const Clock& clock);

}  // namespace ohfp
