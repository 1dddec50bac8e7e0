#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

extern char** environ;

namespace ohfp::testsupport {
namespace {

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Owns the strings that back the char* arrays handed to execve.
struct ExecImage {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

ExecImage BuildImage(const std::vector<std::string>& argv, const EnvList& extra_env,
                     const std::vector<std::string>& unset_env) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry = *e;
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& name : unset_env) env.erase(name);
  for (const auto& [name, value] : extra_env) env[name] = value;

  ExecImage image;
  image.argv_storage = argv;
  for (const auto& [name, value] : env) image.env_storage.push_back(name + "=" + value);
  for (auto& a : image.argv_storage) image.argv.push_back(a.data());
  image.argv.push_back(nullptr);
  for (auto& e : image.env_storage) image.envp.push_back(e.data());
  image.envp.push_back(nullptr);
  return image;
}

// Runs in the forked child: only async-signal-safe calls from here on.
[[noreturn]] void ExecChild(const ExecImage& image, int in_fd, int out_fd, int err_fd,
                            const char* working_dir) {
  setpgid(0, 0);
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
  close_range(3, ~0U, 0);
  if (working_dir != nullptr && chdir(working_dir) != 0) _exit(127);
  execvpe(image.argv[0], image.argv.data(), image.envp.data());
  const char msg[] = "exec failed: ";
  (void)!write(2, msg, sizeof msg - 1);
  const char* err = strerror(errno);
  (void)!write(2, err, strlen(err));
  (void)!write(2, "\n", 1);
  _exit(127);
}

int DecodeStatus(int status, int* term_signal) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    if (term_signal != nullptr) *term_signal = WTERMSIG(status);
    return 128 + WTERMSIG(status);
  }
  return -1;
}

}  // namespace

RunResult RunProcess(const ProcessOptions& options) {
  RunResult result;
  if (options.argv.empty()) return result;
  // A child that exits without reading its stdin must not kill the test.
  signal(SIGPIPE, SIG_IGN);

  ExecImage image = BuildImage(options.argv, options.extra_env, options.unset_env);
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0) return result;
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]);
    return result;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    return result;
  }

  const char* working_dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
  pid_t pid = fork();
  if (pid == 0) ExecChild(image, in[0], out[1], err[1], working_dir);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(in[1]), close(out[0]), close(err[0]);
    return result;
  }
  setpgid(pid, pid);  // also done by the child; whichever runs first wins

  int stdin_fd = in[1];
  if (options.stdin_data.empty()) {
    close(stdin_fd);
    stdin_fd = -1;
  } else {
    fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  }
  size_t written = 0;
  int fds[2] = {out[0], err[0]};
  std::string* sinks[2] = {&result.stdout_text, &result.stderr_text};

  int64_t deadline = NowMs() + options.timeout_ms;
  bool exited = false;
  int status = 0;
  int64_t exited_at = 0;
  while (true) {
    if (!exited) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        exited = true;
        exited_at = NowMs();
      }
    }
    bool open = fds[0] >= 0 || fds[1] >= 0;
    // A background grandchild may keep the pipes open; once the child is gone
    // we drain what is buffered and stop shortly after.
    if (exited && (!open || NowMs() - exited_at > 200)) break;
    if (!exited && NowMs() >= deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      exited = true;
      exited_at = NowMs();
      continue;
    }

    pollfd pfds[3];
    int n = 0;
    for (int i = 0; i < 2; ++i) {
      if (fds[i] >= 0) pfds[n++] = {fds[i], POLLIN, 0};
    }
    if (stdin_fd >= 0) pfds[n++] = {stdin_fd, POLLOUT, 0};
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    poll(pfds, n, 20);

    for (int i = 0; i < n; ++i) {
      if (pfds[i].revents == 0) continue;
      if (pfds[i].fd == stdin_fd) {
        ssize_t k = write(stdin_fd, options.stdin_data.data() + written,
                          options.stdin_data.size() - written);
        if (k > 0) written += static_cast<size_t>(k);
        if (k < 0 && errno != EAGAIN && errno != EINTR) written = options.stdin_data.size();
        if (written >= options.stdin_data.size()) {
          close(stdin_fd);
          stdin_fd = -1;
        }
        continue;
      }
      for (int j = 0; j < 2; ++j) {
        if (pfds[i].fd != fds[j]) continue;
        char buf[65536];
        ssize_t k = read(fds[j], buf, sizeof buf);
        if (k > 0) {
          sinks[j]->append(buf, static_cast<size_t>(k));
        } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
          close(fds[j]);
          fds[j] = -1;
        }
      }
    }
  }

  if (stdin_fd >= 0) close(stdin_fd);
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
  result.exit_code = DecodeStatus(status, &result.term_signal);
  return result;
}

RunResult RunProcess(const std::vector<std::string>& argv, const EnvList& extra_env,
                     const std::string& stdin_data, int timeout_ms) {
  ProcessOptions options;
  options.argv = argv;
  options.extra_env = extra_env;
  options.stdin_data = stdin_data;
  options.timeout_ms = timeout_ms;
  return RunProcess(options);
}

pid_t SpawnProcess(const std::vector<std::string>& argv, const EnvList& extra_env,
                   const std::string& output_path) {
  if (argv.empty()) return -1;
  ExecImage image = BuildImage(argv, extra_env, {});
  int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out_fd = output_path.empty()
                   ? open("/dev/null", O_WRONLY | O_CLOEXEC)
                   : open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (in_fd < 0 || out_fd < 0) {
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) ExecChild(image, in_fd, out_fd, out_fd, nullptr);
  close(in_fd);
  close(out_fd);
  if (pid > 0) setpgid(pid, pid);
  return pid;
}

int WaitForExit(pid_t pid, int timeout_ms, bool* timed_out) {
  if (timed_out != nullptr) *timed_out = false;
  int64_t deadline = NowMs() + timeout_ms;
  while (true) {
    int status = 0;
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) return DecodeStatus(status, nullptr);
    if (w < 0 && errno != EINTR) return -1;
    if (NowMs() >= deadline) {
      if (timed_out != nullptr) *timed_out = true;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace ohfp::testsupport
