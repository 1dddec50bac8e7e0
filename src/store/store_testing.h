// Shared by the store tests: the list of back ends every suite runs against,
// record builders, scratch directories and forked worker processes.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/store.h"
#include "support/scratch_dir.h"

namespace ohfp::store_testing {

/// One back end under test. `open` must work in a forked child too, so a
/// back end joins every suite by adding one entry to StoreBackends().
struct StoreBackend {
  std::string name;
  /// Opens (creating on first use) the store that lives in `dir`.
  std::function<Result<std::unique_ptr<Store>>(const std::string& dir)> open;
  /// The files the store keeps in `dir`, if it is file based.
  std::vector<std::string> files;
};

/// Lets gtest name a back end in messages instead of dumping its bytes.
inline void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

inline StoreOptions FileStoreOptions(const std::string& type, const std::string& dir) {
  StoreOptions o;
  o.type = type;
  o.path = dir + (type == "sqlite" ? "/state/ohfp.db" : "/state/request_database.json");
  o.busy_timeout_ms = 30000;
  return o;
}

inline std::vector<StoreBackend> StoreBackends() {
  return {
      {"sqlite",
       [](const std::string& dir) { return OpenStore(FileStoreOptions("sqlite", dir)); },
       {"state/ohfp.db", "state/ohfp.db-wal"}},
      {"json",
       [](const std::string& dir) { return OpenStore(FileStoreOptions("json", dir)); },
       {"state/request_database.json", "state/request_database.json.lock"}},
  };
}

inline std::string BackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param.name;
}

using testsupport::ScratchDir;

inline Request MakeRequest(const std::string& id, const std::string& template_id, int64_t count,
                           RequestState state = RequestState::kPending, int64_t created_at = 1000) {
  Request r;
  r.request_id = id;
  r.kind = RequestKind::kAcquire;
  r.template_id = template_id;
  r.provider_api = "RunInstances";
  r.machine_count = count;
  r.state = state;
  r.client_token = "token-" + id;
  r.created_at = created_at;
  r.updated_at = created_at;
  return r;
}

inline Request MakeReturn(const std::string& id, std::vector<std::string> machine_ids,
                          int64_t created_at = 1000) {
  Request r;
  r.request_id = id;
  r.kind = RequestKind::kReturn;
  r.machine_count = static_cast<int64_t>(machine_ids.size());
  r.machine_ids = std::move(machine_ids);
  r.created_at = created_at;
  r.updated_at = created_at;
  return r;
}

inline Machine MakeMachine(const std::string& id, const std::string& request_id,
                           const std::string& template_id, const std::string& state = "running") {
  Machine m;
  m.machine_id = id;
  m.name = "ip-" + id + ".ec2.internal";
  m.request_id = request_id;
  m.template_id = template_id;
  m.state = state;
  m.instance_type = "t3.micro";
  m.price_type = "ondemand";
  m.launch_time = 1000;
  m.updated_at = 1000;
  return m;
}

/// A filter without designated initializers (which -Wextra flags when fields are omitted).
inline RequestFilter Filter(std::optional<RequestKind> kind, bool active_only,
                            std::string template_id = "", int64_t limit = 0) {
  RequestFilter f;
  f.kind = kind;
  f.active_only = active_only;
  f.template_id = std::move(template_id);
  f.limit = limit;
  return f;
}

/// Forks a child that runs `body` and exits with its result without running
/// any destructor or atexit handler of the parent's objects.
inline pid_t ForkChild(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 120;
    try {
      code = body();
    } catch (...) {
      code = 121;
    }
    ::_exit(code);
  }
  return pid;
}

/// Waits for `pid` and returns its exit code, or 128 + signal if killed.
inline int WaitChild(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace ohfp::store_testing
