#include "store/json_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_set>

#include "store/record_json.h"
#include "store/store_files.h"

namespace ohfp {
namespace {

constexpr int kFormatVersion = 1;

bool NewerFirst(const Request& a, const Request& b) {
  return std::tie(a.created_at, a.request_id) > std::tie(b.created_at, b.request_id);
}

bool OlderFirst(const Request& a, const Request& b) {
  return std::tie(a.created_at, a.request_id) < std::tie(b.created_at, b.request_id);
}

}  // namespace

// Holds an flock on the lock file for the lifetime of one call. Waiting polls
// with a growing pause so that a stuck holder turns into kStorageError after
// the busy timeout instead of a hang.
class JsonStore::Lock {
 public:
  Lock(int fd, bool exclusive, int timeout_ms) : fd_(fd) {
    int op = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int pause_us = 200;
    for (;;) {
      if (::flock(fd_, op) == 0) {
        held_ = true;
        return;
      }
      if (errno != EWOULDBLOCK && errno != EINTR) {
        status_ =
            Status::Storage(std::string("cannot lock the JSON store: ") + std::strerror(errno));
        return;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        status_ = Status::Storage("the JSON store stayed locked by another process for " +
                                  std::to_string(timeout_ms) + " ms");
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
      pause_us = std::min(pause_us * 2, 20000);
    }
  }
  ~Lock() {
    if (held_) ::flock(fd_, LOCK_UN);
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  const Status& status() const { return status_; }

 private:
  int fd_;
  bool held_ = false;
  Status status_;
};

Result<std::unique_ptr<JsonStore>> JsonStore::Open(const StoreOptions& options) {
  if (options.path.empty()) return Status::Configuration("the JSON store needs a path");
  OHFP_RETURN_IF_ERROR(EnsureParentDirectory(options.path));
  std::string lock_path = options.path + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Storage("cannot open " + lock_path + ": " + std::strerror(errno));
  }
  std::unique_ptr<JsonStore> store(new JsonStore(options.path, fd, options.busy_timeout_ms));

  Lock lock(fd, true, options.busy_timeout_ms);
  OHFP_RETURN_IF_ERROR(lock.status());
  struct stat st;
  if (::stat(options.path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return Status::Storage("cannot stat " + options.path + ": " + std::strerror(errno));
    }
    OHFP_RETURN_IF_ERROR(store->Save(State{}));
    return store;
  }
  auto state = store->Load();  // refuse a damaged file now rather than on first use
  if (!state.ok()) return state.status();
  return store;
}

Status JsonStore::BackupFile(const StoreOptions& options, const std::string& dest) {
  if (::access(options.path.c_str(), F_OK) != 0) {
    return Status::NotFound("no JSON store at " + options.path);
  }
  std::string lock_path = options.path + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Storage("cannot open " + lock_path + ": " + std::strerror(errno));
  }
  Status s;
  {
    Lock lock(fd, false, options.busy_timeout_ms);
    s = lock.status();
    std::string contents;
    if (s.ok()) s = ReadWholeFile(options.path, &contents);
    if (s.ok()) s = WriteNewFile(dest, contents);
  }
  ::close(fd);
  return s;
}

JsonStore::JsonStore(std::string path, int lock_fd, int busy_timeout_ms)
    : path_(std::move(path)), lock_fd_(lock_fd), busy_timeout_ms_(busy_timeout_ms) {}

JsonStore::~JsonStore() { ::close(lock_fd_); }

Result<JsonStore::State> JsonStore::Load() {
  State state;
  std::string contents;
  Status read = ReadWholeFile(path_, &contents);
  if (read.code() == ErrorCode::kNotFound) return state;
  OHFP_RETURN_IF_ERROR(read);

  auto corrupt = [this](const std::string& why) {
    return Status::Error(ErrorCode::kStorageError, "JSON store " + path_ + " is unreadable: " + why,
                         {{"path", path_}});
  };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(contents);
  } catch (const nlohmann::json::exception& e) {
    return corrupt(e.what());
  }
  if (!doc.is_object()) return corrupt("not a JSON object");
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer()) return corrupt("no version");
  if (version->get<int64_t>() != kFormatVersion) {
    return corrupt("format version " + version->dump() + " is not " +
                   std::to_string(kFormatVersion));
  }
  auto requests = doc.find("requests");
  auto machines = doc.find("machines");
  if (requests == doc.end() || !requests->is_object()) return corrupt("no requests object");
  if (machines == doc.end() || !machines->is_object()) return corrupt("no machines object");

  for (const auto& [id, j] : requests->items()) {
    auto r = RequestFromJson(j);
    if (!r.ok()) return corrupt(r.status().message());
    if (r->request_id != id) return corrupt("request filed under " + id + " has another id");
    state.requests.emplace(id, std::move(*r));
  }
  for (const auto& [id, j] : machines->items()) {
    auto m = MachineFromJson(j);
    if (!m.ok()) return corrupt(m.status().message());
    if (m->machine_id != id) return corrupt("machine filed under " + id + " has another id");
    state.machines.emplace(id, std::move(*m));
  }
  return state;
}

Status JsonStore::Save(const State& state) {
  nlohmann::json requests = nlohmann::json::object();
  for (const auto& [id, r] : state.requests) requests[id] = RequestToJson(r);
  nlohmann::json machines = nlohmann::json::object();
  for (const auto& [id, m] : state.machines) machines[id] = MachineToJson(m);
  nlohmann::json doc = {{"version", kFormatVersion},
                        {"requests", std::move(requests)},
                        {"machines", std::move(machines)}};
  // Invalid UTF-8 from a cloud message must not make a write fail: such bytes
  // are replaced rather than losing the record.
  std::string text = doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  return WriteFileAtomically(path_, text);
}

int64_t JsonStore::HeldCountOf(const State& state, const std::string& template_id) {
  std::map<std::string, int64_t> live_unreturned;
  for (const auto& [id, m] : state.machines) {
    if (IsLive(m) && m.return_request_id.empty() && !m.request_id.empty()) {
      ++live_unreturned[m.request_id];
    }
  }
  int64_t held = 0;
  for (const auto& [id, r] : state.requests) {
    if (r.kind != RequestKind::kAcquire || r.template_id != template_id) continue;
    auto it = live_unreturned.find(id);
    int64_t live = it == live_unreturned.end() ? 0 : it->second;
    held += IsFinal(r.state) ? live : std::max(r.machine_count, live);
  }
  return held;
}

Status JsonStore::CreateAcquireRequest(const Request& request, int64_t max_number) {
  if (request.kind != RequestKind::kAcquire) {
    return Status::InvalidRequest("CreateAcquireRequest needs an acquisition");
  }
  if (request.request_id.empty()) return Status::InvalidRequest("request without an id");

  Lock lock(lock_fd_, true, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  if (state->requests.count(request.request_id) != 0) {
    return Status::Conflict("request " + request.request_id + " exists");
  }
  if (max_number >= 0) {
    int64_t held = HeldCountOf(*state, request.template_id);
    if (held + request.machine_count > max_number) {
      return Status::Error(
          ErrorCode::kResourceLimitExceeded,
          "template " + request.template_id + " holds " + std::to_string(held) + " of at most " +
              std::to_string(max_number) + " hosts; " + std::to_string(request.machine_count) +
              " more were requested",
          {{"held", held}, {"requested", request.machine_count}, {"max", max_number}});
    }
  }
  state->requests[request.request_id] = request;
  return Save(*state);
}

Status JsonStore::Commit(const StoreChange& change) {
  if (change.empty()) return Status();
  for (const Request& r : change.requests) {
    if (r.request_id.empty()) return Status::InvalidRequest("request without an id");
  }
  for (const Machine& m : change.machines) {
    if (m.machine_id.empty()) return Status::InvalidRequest("machine without an id");
  }
  Lock lock(lock_fd_, true, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  for (const Request& r : change.requests) state->requests[r.request_id] = r;
  for (const Machine& m : change.machines) {
    Machine& kept = state->machines[m.machine_id];
    std::string return_request_id = std::move(kept.return_request_id);
    kept = m;
    if (kept.return_request_id.empty()) kept.return_request_id = std::move(return_request_id);
  }
  return Save(*state);
}

Result<std::vector<Request>> JsonStore::GetRequests(const std::vector<std::string>& ids) {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  std::vector<Request> out;
  std::unordered_set<std::string> seen;
  for (const std::string& id : ids) {
    auto it = state->requests.find(id);
    if (it != state->requests.end() && seen.insert(id).second) out.push_back(it->second);
  }
  return out;
}

Result<std::vector<Request>> JsonStore::ListRequests(const RequestFilter& filter) {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  std::vector<Request> out;
  for (const auto& [id, r] : state->requests) {
    if (filter.kind && r.kind != *filter.kind) continue;
    if (filter.active_only && IsFinal(r.state)) continue;
    if (!filter.template_id.empty() && r.template_id != filter.template_id) continue;
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(), NewerFirst);
  if (filter.limit > 0 && out.size() > static_cast<size_t>(filter.limit)) {
    out.resize(static_cast<size_t>(filter.limit));
  }
  return out;
}

Result<std::vector<Machine>> JsonStore::MachinesOfRequests(
    const std::vector<std::string>& request_ids) {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  std::set<std::string> wanted(request_ids.begin(), request_ids.end());
  std::vector<Machine> out;
  for (const auto& [id, m] : state->machines) {
    if (wanted.count(m.request_id) != 0) out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](const Machine& a, const Machine& b) {
    return std::tie(a.request_id, a.machine_id) < std::tie(b.request_id, b.machine_id);
  });
  return out;
}

Result<std::vector<Machine>> JsonStore::GetMachines(const std::vector<std::string>& machine_ids) {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  std::vector<Machine> out;
  std::unordered_set<std::string> seen;
  for (const std::string& id : machine_ids) {
    auto it = state->machines.find(id);
    if (it != state->machines.end() && seen.insert(id).second) out.push_back(it->second);
  }
  return out;
}

Result<std::vector<Machine>> JsonStore::FindMachinesByName(const std::vector<std::string>& names) {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  std::set<std::string> wanted(names.begin(), names.end());
  wanted.erase("");
  std::vector<Machine> out;
  for (const auto& [id, m] : state->machines) {
    if (wanted.count(m.name) != 0) out.push_back(m);
  }
  return out;
}

Result<std::vector<Machine>> JsonStore::ListLiveMachines() {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  std::vector<Machine> out;
  for (const auto& [id, m] : state->machines) {
    if (IsLive(m)) out.push_back(m);
  }
  return out;
}

Result<int64_t> JsonStore::HeldCount(const std::string& template_id) {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  return HeldCountOf(*state, template_id);
}

Result<std::vector<Request>> JsonStore::ScanRequests(const std::string& after_id, int64_t limit) {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  std::vector<Request> all;
  all.reserve(state->requests.size());
  for (auto& [id, r] : state->requests) all.push_back(std::move(r));
  std::sort(all.begin(), all.end(), OlderFirst);

  auto begin = all.begin();
  if (!after_id.empty()) {
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const Request& r) { return r.request_id == after_id; });
    if (it == all.end()) {
      return Status::NotFound("scan position " + after_id + " is not a stored request");
    }
    begin = it + 1;
  }
  auto end = all.end();
  if (limit > 0 && end - begin > limit) end = begin + limit;
  return std::vector<Request>(std::make_move_iterator(begin), std::make_move_iterator(end));
}

Result<std::vector<Machine>> JsonStore::ScanMachines(const std::string& after_id, int64_t limit) {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  std::vector<Machine> out;
  for (auto it = state->machines.upper_bound(after_id); it != state->machines.end(); ++it) {
    if (limit > 0 && out.size() >= static_cast<size_t>(limit)) break;
    out.push_back(std::move(it->second));
  }
  return out;
}

Result<int64_t> JsonStore::CountRequests() {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  return static_cast<int64_t>(state->requests.size());
}

Result<int64_t> JsonStore::CountMachines() {
  Lock lock(lock_fd_, false, busy_timeout_ms_);
  OHFP_RETURN_IF_ERROR(lock.status());
  auto state = Load();
  if (!state.ok()) return state.status();
  return static_cast<int64_t>(state->machines.size());
}

}  // namespace ohfp
