#include "cli/logging.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <vector>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace ohfp {

std::string NormalizeLogLevel(const std::string& level) {
  std::string s = level;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (s.rfind("LOG_", 0) == 0) s = s.substr(4);
  if (s == "WARNING") s = "WARN";
  if (s == "CRITICAL" || s == "FATAL") s = "ERROR";
  for (const char* known : {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"}) {
    if (s == known) return s;
  }
  return "";
}

namespace {

spdlog::level::level_enum ToSpd(const std::string& level) {
  std::string s = NormalizeLogLevel(level);
  if (s == "TRACE") return spdlog::level::trace;
  if (s == "DEBUG") return spdlog::level::debug;
  if (s == "WARN") return spdlog::level::warn;
  if (s == "ERROR") return spdlog::level::err;
  if (s == "OFF") return spdlog::level::off;
  return spdlog::level::info;
}

void MakeDirs(const std::string& dir) {
  std::string path;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!path.empty()) ::mkdir(path.c_str(), 0700);
    }
    if (i < dir.size()) path += dir[i];
  }
}

}  // namespace

void SetUpLogging(const LoggingSettings& settings, const Directories& dirs, const LogSetup& setup) {
  std::vector<spdlog::sink_ptr> sinks;
  std::string level = !setup.level.empty() ? setup.level : settings.level;
  std::string path = settings.file_path;
  if (path.empty()) {
    std::string base = dirs.provider_name.empty() ? "ohfp" : dirs.provider_name;
    path = dirs.logdir + "/" + base + ".log";
  }
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) MakeDirs(path.substr(0, slash));
  try {
    auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        path, static_cast<size_t>(std::max<int64_t>(settings.max_size_bytes, 64 * 1024)),
        static_cast<size_t>(std::max<int64_t>(settings.max_files, 1)));
    file->set_level(ToSpd(level));
    sinks.push_back(file);
  } catch (const spdlog::spdlog_ex& e) {
    std::fprintf(stderr, "ohfp: cannot open log file %s: %s\n", path.c_str(), e.what());
  }
  if (setup.to_stderr || settings.console_enabled) {
    auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    err->set_level(settings.console_enabled ? ToSpd(level) : ToSpd(setup.stderr_level));
    sinks.push_back(err);
  }
  auto logger = std::make_shared<spdlog::logger>("ohfp", sinks.begin(), sinks.end());
  // The logger passes what the most talkative sink wants; each sink filters
  // for itself, and nothing below every sink's level is even formatted.
  auto least = spdlog::level::off;
  for (const auto& sink : sinks) least = std::min(least, sink->level());
  logger->set_level(least);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [%P] %l %v");
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace ohfp
