// Runs child processes for tests: the binary under test, helper tools and
// scripts. Children get their own process group so a timeout can kill
// everything they started.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace ohfp::testsupport {

using EnvList = std::vector<std::pair<std::string, std::string>>;

struct RunResult {
  int exit_code = -1;   // the exit status, or 128 + signal, or -1 if never started
  int term_signal = 0;  // the signal that ended the process, 0 if it exited
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
};

struct ProcessOptions {
  std::vector<std::string> argv;       // argv[0] is looked up in PATH when it has no '/'
  EnvList extra_env;                   // set or overridden on top of this process's environment
  std::vector<std::string> unset_env;  // removed from the child's environment
  std::string stdin_data;
  int timeout_ms = 60000;   // the process group is killed with SIGKILL after this
  std::string working_dir;  // "" = this process's
};

/// Runs a process to completion, feeding `stdin_data` and capturing stdout and
/// stderr; on timeout kills its process group and sets `timed_out`.
RunResult RunProcess(const ProcessOptions& options);

/// Shorthand for RunProcess with argv, extra environment, stdin and timeout.
RunResult RunProcess(const std::vector<std::string>& argv, const EnvList& extra_env,
                     const std::string& stdin_data, int timeout_ms);

/// Starts a process in the background (stdin /dev/null, stdout and stderr
/// appended to `output_path`, or /dev/null when empty) and returns its pid,
/// or -1 if it could not be forked. Reap it with WaitForExit.
pid_t SpawnProcess(const std::vector<std::string>& argv, const EnvList& extra_env,
                   const std::string& output_path = "");

/// Waits up to `timeout_ms` for child `pid`; returns its exit status (128 +
/// signal if killed), or -1 when it is still running (`*timed_out` = true) or
/// is not a child of this process.
int WaitForExit(pid_t pid, int timeout_ms, bool* timed_out = nullptr);

}  // namespace ohfp::testsupport
