#include "measured_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>

extern char** environ;

namespace ohfp::bench {
namespace {

double Millis(const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; }

// The strings behind the char* arrays handed to execvpe.
struct ExecImage {
  std::vector<std::string> strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

ExecImage BuildImage(const ProcessSpec& spec) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry = *e;
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& name : spec.unset_env) env.erase(name);
  for (const auto& [name, value] : spec.env) env[name] = value;

  ExecImage image;
  image.strings = spec.argv;
  size_t argc = image.strings.size();
  for (const auto& [name, value] : env) image.strings.push_back(name + "=" + value);
  for (size_t i = 0; i < image.strings.size(); ++i) {
    (i < argc ? image.argv : image.envp).push_back(image.strings[i].data());
  }
  image.argv.push_back(nullptr);
  image.envp.push_back(nullptr);
  return image;
}

// Reads both pipes until the child closes them.
void Drain(int out_fd, int err_fd, std::string* out, std::string* err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {out, err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
}

}  // namespace

double MonotonicMs() {
  timespec t;
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

ProcessCost MeasureProcess(const ProcessSpec& spec) {
  ProcessCost cost;
  if (spec.argv.empty()) return cost;
  ExecImage image = BuildImage(spec);
  const char* stdin_path = spec.stdin_path.empty() ? "/dev/null" : spec.stdin_path.c_str();
  int in = ::open(stdin_path, O_RDONLY | O_CLOEXEC);
  int out[2], err[2];
  if (in < 0) return cost;
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    ::close(in);
    return cost;
  }

  double started = MonotonicMs();
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::dup2(in, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) ::_exit(127);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(image.argv[0], image.argv.data(), image.envp.data());
    ::_exit(127);
  }
  ::close(in);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    return cost;
  }
  Drain(out[0], err[0], &cost.stdout_text, &cost.stderr_text);

  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  cost.wall_ms = MonotonicMs() - started;
  cost.cpu_ms = Millis(usage.ru_utime) + Millis(usage.ru_stime);
  cost.max_rss_kib = usage.ru_maxrss;
  if (WIFEXITED(status)) cost.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) cost.exit_code = 128 + WTERMSIG(status);
  return cost;
}

}  // namespace ohfp::bench
