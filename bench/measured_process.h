// One child process run to completion and what it cost: wall time from fork
// to reaping, and the kernel's own account of its CPU time and peak resident
// memory (wait4's rusage, which covers the child and every descendant it
// reaped: the shells of a Host Factory script included).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ohfp::bench {

using EnvList = std::vector<std::pair<std::string, std::string>>;

struct ProcessSpec {
  std::vector<std::string> argv;       // argv[0] is looked up in PATH when it has no '/'
  EnvList env;                         // set on top of this process's environment
  std::vector<std::string> unset_env;  // removed from the child's environment
  std::string stdin_path;              // "" = /dev/null
};

struct ProcessCost {
  int exit_code = -1;  // exit status, 128 + signal, or -1 if it never ran
  double wall_ms = 0;  // fork to reap
  double cpu_ms = 0;   // user + system
  int64_t max_rss_kib = 0;
  std::string stdout_text;
  std::string stderr_text;
};

/// Runs `spec`, capturing stdout and stderr, and measures it. The
/// environment is built before the clock starts, so only the child is timed.
ProcessCost MeasureProcess(const ProcessSpec& spec);

/// Milliseconds on the monotonic clock, for timing in-process work.
double MonotonicMs();

}  // namespace ohfp::bench
