// Diagnostics: one line per event to the log file in the log directory, and
// to stderr when asked. Never to stdout, which carries the answer.
#pragma once

#include <string>

#include "config/provider_config.h"

namespace ohfp {

struct LogSetup {
  std::string level;                  // TRACE, DEBUG, INFO, WARN, ERROR, OFF ("" = from settings)
  bool to_stderr = false;             // also log to stderr
  std::string stderr_level = "warn";  // least level that reaches stderr
};

/// Installs the default logger: a size-rotating file at settings.file_path
/// (else <logdir>/<provider name, or "ohfp">.log) plus stderr when asked.
/// A log file that cannot be opened is reported on stderr once and logging
/// carries on without it: a full disk must not fail a Host Factory call.
void SetUpLogging(const LoggingSettings& settings, const Directories& dirs, const LogSetup& setup);

/// Accepts TRACE/DEBUG/INFO/WARN/WARNING/ERROR/CRITICAL/OFF and IBM's
/// LOG_TRACE… forms, any case; "" if not a level.
std::string NormalizeLogLevel(const std::string& level);

}  // namespace ohfp
