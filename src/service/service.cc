#include "service/service.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/crash_point.h"
#include "service/status_rules.h"
#include "store/record_json.h"

namespace ohfp {

namespace {

using json = nlohmann::json;

constexpr int64_t kMaxLaunchAttempts = 3;
// Launch calls one process makes for a request whose answers keep getting
// lost, looking for its instances by tag between them.
constexpr int kLaunchTriesPerCall = 3;
constexpr const char* kFinalMachinesKey = "final_machines";
constexpr const char* kPolledAtKey = "polled_at";
constexpr const char* kOriginKey = "origin";
constexpr const char* kHostFactoryOrigin = "hostfactory";
// The poll mark is rewritten at most this often, so a busy poll loop does
// not turn every status call into a write of every request it names.
constexpr int64_t kPollMarkEverySec = 60;

int64_t PolledAt(const Request& r) {
  auto it = r.handles.find(kPolledAtKey);
  return it != r.handles.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

/// Someone holds this request's id: Host Factory polled it, or it was made
/// at a shell, where the person saw the id.
bool Attended(const Request& r) {
  return PolledAt(r) > 0 || r.handles.value(kOriginKey, "") != kHostFactoryOrigin;
}

int64_t LastActivity(const Request& r) { return std::max(r.updated_at, PolledAt(r)); }

// Set when the process launching a request ended without knowing whether
// the launch happened: no one is launching it any more, so the next poll
// may look for its instances and launch again without waiting for the
// orphan timeout.
constexpr const char* kUnconfirmedKey = "launch_unconfirmed";

bool LaunchUnconfirmed(const Request& r) {
  return r.handles.is_object() && r.handles.value(kUnconfirmedKey, false);
}

void SetLaunchUnconfirmed(Request* r, bool unconfirmed) {
  if (!r->handles.is_object()) r->handles = json::object();
  if (unconfirmed) {
    r->handles[kUnconfirmedKey] = true;
  } else {
    r->handles.erase(kUnconfirmedKey);
  }
}

bool IsGone(const Instance& i) { return i.state == "terminated" || i.state == "shutting-down"; }

/// A launch error after which nothing can have been created: EC2 refused
/// the call (a 4xx that is not throttling), or we refused it ourselves.
/// Anything else (no answer, 5xx, throttled until the deadline) may have
/// launched machines, so the request stays pending and is reconciled later.
bool LaunchMayHaveHappened(const Status& s) {
  const json& d = s.details();
  if (!d.is_object()) return false;
  if (d.contains("transport")) return true;
  if (d.value("deadline_exceeded", false)) return true;
  if (d.value("retryable", false)) return true;
  auto it = d.find("http_status");
  return it != d.end() && it->is_number_integer() && it->get<int>() >= 500;
}

// A frozen machine is its store record plus this request's outcome for it.
json SnapshotMachine(const MachineReport& r) {
  json j = MachineToJson(r.machine);
  j["result"] = r.result;
  j["message"] = r.message;
  return j;
}

std::vector<MachineReport> FrozenReports(const Request& r) {
  std::vector<MachineReport> out;
  auto it = r.handles.find(kFinalMachinesKey);
  if (it == r.handles.end() || !it->is_array()) return out;
  for (const json& j : *it) {
    Result<Machine> m = MachineFromJson(j);
    if (!m.ok()) continue;
    out.push_back({*m, j.value("result", ""), j.value("message", "")});
  }
  return out;
}

RequestReport ReportFor(Request r, std::vector<MachineReport> machines) {
  RequestReport report;
  report.request_id = r.request_id;
  report.hf_status = HostFactoryStatus(r.state);
  report.message = r.message;
  report.request = std::move(r);
  report.machines = std::move(machines);
  // The frozen machines already travel in `machines`; keep them out of the
  // handles a person sees with --long.
  report.request.handles.erase(kFinalMachinesKey);
  return report;
}

RequestReport UnknownReport(const std::string& id) {
  RequestReport report;
  report.request_id = id;
  report.known = false;
  report.hf_status = kHfCompleteWithError;
  report.message = "unknown request id";
  return report;
}

void MergeHandles(const json& from, json* into) {
  if (!into->is_object()) *into = json::object();
  for (const auto& [key, value] : from.items()) {
    if (value.is_array() && into->contains(key) && (*into)[key].is_array()) {
      for (const auto& v : value) (*into)[key].push_back(v);
    } else {
      (*into)[key] = value;
    }
  }
}

bool SameObservation(const Machine& a, const Machine& b) {
  return a.state == b.state && a.state_reason == b.state_reason && a.name == b.name &&
         a.private_ip == b.private_ip && a.public_ip == b.public_ip &&
         a.instance_type == b.instance_type && a.launch_time == b.launch_time &&
         a.price_type == b.price_type;
}

}  // namespace

struct Service::Refresh {
  StoreChange change;
  // Requests changed in place, committed with `change` (CommitRefresh).
  std::vector<Request*> updated;
  std::map<std::string, std::vector<MachineReport>> reports;  // by request id
};

Machine MachineFromInstance(const Instance& instance, const Request& request, int64_t now) {
  Machine m;
  m.machine_id = instance.instance_id;
  m.request_id = request.request_id;
  m.template_id = request.template_id;
  ApplyInstance(instance, now, &m);
  return m;
}

void ApplyInstance(const Instance& i, int64_t now, Machine* m) {
  m->state = i.state;
  m->state_reason = i.state_reason;
  if (m->name.empty()) m->name = !i.private_dns_name.empty() ? i.private_dns_name : "";
  if (!i.private_ip.empty()) m->private_ip = i.private_ip;
  if (!i.public_ip.empty()) m->public_ip = i.public_ip;
  if (!i.instance_type.empty()) m->instance_type = i.instance_type;
  if (i.launch_time > 0) m->launch_time = i.launch_time;
  m->price_type = i.lifecycle == "spot" ? "spot" : "ondemand";
  m->updated_at = now;
}

Service::Service(Store* store, TemplateSource templates, ProviderSource provider,
                 const Clock* clock, IdGenerator* ids, ServiceOptions options)
    : store_(store),
      template_source_(std::move(templates)),
      provider_source_(std::move(provider)),
      clock_(clock),
      ids_(ids),
      options_(options) {}

Service::Service(Store* store, const TemplateSet* templates, ProviderSource provider,
                 const Clock* clock, IdGenerator* ids, ServiceOptions options)
    : Service(
          store, [templates] { return templates; }, std::move(provider), clock, ids, options) {}

const TemplateSet& Service::templates() {
  if (templates_ == nullptr) templates_ = template_source_();
  return *templates_;
}

Result<Provider*> Service::provider() {
  if (provider_ != nullptr) return provider_;
  auto p = provider_source_();
  if (!p.ok()) return p.status();
  provider_ = *p;
  return provider_;
}

Result<TemplatesReport> Service::GetAvailableTemplates(const std::string& provider_api) {
  TemplatesReport report;
  const TemplateSet& set = templates();
  report.rejected = set.rejected;
  for (const Template& t : set.templates) {
    if (!provider_api.empty() && t.provider_api != provider_api) continue;
    auto held = store_->HeldCount(t.template_id);
    if (!held.ok()) return held.status();
    report.templates.push_back({&t, *held});
  }
  return report;
}

void Service::Finalize(Request* r, const std::vector<MachineReport>& reports,
                       const std::string& message, RequestState state) {
  assert(IsFinal(state));
  const int64_t now = clock_->NowSeconds();
  json frozen = json::array();
  for (const auto& m : reports) frozen.push_back(SnapshotMachine(m));
  r->state = state;
  r->message = message;
  r->updated_at = now;
  r->completed_at = now;
  r->handles[kFinalMachinesKey] = std::move(frozen);
  spdlog::info("{} final: {} ({})", r->request_id, RequestStateName(state), message);
}

void Service::ApplyLaunch(Request* r, const LaunchResult& launch, Refresh* refresh) {
  const int64_t now = clock_->NowSeconds();
  std::vector<MachineReport>& reports = refresh->reports[r->request_id];
  for (const Instance& i : launch.instances) {
    Machine m = MachineFromInstance(i, *r, now);
    reports.push_back(AcquisitionMachineReport(m));
    refresh->change.machines.push_back(std::move(m));
  }
  MergeHandles(launch.handles, &r->handles);
  SetLaunchUnconfirmed(r, false);
  r->state = RequestState::kInProgress;
  r->updated_at = now;
  r->message = launch.message.empty()
                   ? std::to_string(launch.instances.size()) + " instances launching"
                   : launch.message;
  spdlog::info("{} launched {} instances", r->request_id, launch.instances.size());
}

Status Service::DropSurplus(Provider* p, const Request& r, std::vector<Instance>* found) {
  if (static_cast<int64_t>(found->size()) <= r.machine_count) return Status();
  // The same instances are kept on every look: live ones first, then the
  // oldest; the surplus, once terminated, sorts behind them.
  std::stable_sort(found->begin(), found->end(), [](const Instance& a, const Instance& b) {
    if (IsGone(a) != IsGone(b)) return !IsGone(a);
    if (a.launch_time != b.launch_time) return a.launch_time < b.launch_time;
    return a.instance_id < b.instance_id;
  });
  std::vector<std::string> surplus;
  for (size_t i = static_cast<size_t>(r.machine_count); i < found->size(); ++i) {
    if (!IsGone((*found)[i])) surplus.push_back((*found)[i].instance_id);
  }
  spdlog::warn(
      "{} has {} instances for {} hosts (a launch repeated after a lost answer); "
      "terminating {}",
      r.request_id, found->size(), r.machine_count, surplus.size());
  if (!surplus.empty()) OHFP_RETURN_IF_ERROR(p->Release(surplus));
  found->resize(static_cast<size_t>(r.machine_count));
  return Status();
}

Result<LaunchResult> Service::LaunchOrFind(Provider* p, const Template& tmpl, const Request& r) {
  for (int tries = 1;; ++tries) {
    Result<LaunchResult> launch = p->Launch(tmpl, r);
    if (launch.ok() || !LaunchMayHaveHappened(launch.status())) return launch;

    // The launch may have happened: its instances carry the request tag.
    // Launching again without looking would start a second set wherever the
    // client token is not honoured.
    auto found = p->FindByRequest({r.request_id});
    if (!found.ok()) return launch;  // the next status poll looks again
    if (!found->empty()) {
      // Part of a set may be all EC2 lists yet; the next poll waits for it.
      if (static_cast<int64_t>(found->size()) < r.machine_count) return launch;
      if (!DropSurplus(p, r, &*found).ok()) return launch;
      LaunchResult adopted;
      adopted.instances = std::move(*found);
      adopted.message = std::to_string(adopted.instances.size()) +
                        " instances found by tag after a lost launch answer";
      return adopted;
    }
    if (tries >= kLaunchTriesPerCall) return launch;
    spdlog::warn("{} launch not confirmed ({}) and none of its instances exist; launching again",
                 r.request_id, launch.status().message());
  }
}

Result<SubmitReport> Service::RequestMachines(const std::string& template_id, int64_t count) {
  const Template* tmpl = templates().Find(template_id);
  if (tmpl == nullptr) {
    return Status::Error(ErrorCode::kTemplateNotFound,
                         "template '" + template_id + "' is not defined (or is invalid)",
                         {{"template_id", template_id}});
  }
  if (count < 1 || count > kMaxMachineCount) {
    return Status::InvalidRequest("machineCount must be between 1 and " +
                                  std::to_string(kMaxMachineCount));
  }
  // Set up the cloud side first: a failure here must not leave a record.
  auto p = provider();
  if (!p.ok()) return p.status();

  const int64_t now = clock_->NowSeconds();
  Request r;
  r.request_id = "req-" + ids_->NewUuid();
  r.kind = RequestKind::kAcquire;
  r.template_id = template_id;
  r.provider_api = tmpl->provider_api;
  r.machine_count = count;
  r.state = RequestState::kPending;
  r.client_token = r.request_id;
  r.created_at = r.updated_at = now;
  r.launch_attempts = 1;  // counted before the call, so a crash cannot hide one
  r.message = "launch requested";
  if (options_.host_factory) r.handles[kOriginKey] = kHostFactoryOrigin;
  OHFP_RETURN_IF_ERROR(store_->CreateAcquireRequest(r, tmpl->max_number));
  spdlog::info("{} recorded: {} x {}", r.request_id, count, template_id);
  CrashPoint("request.recorded");

  Refresh refresh;
  auto launch = LaunchOrFind(*p, *tmpl, r);
  CrashPoint("request.launched");
  SubmitReport report;
  if (launch.ok()) {
    ApplyLaunch(&r, *launch, &refresh);
    report.message = "Request submitted to EC2: " + r.message + ".";
  } else if (LaunchMayHaveHappened(launch.status())) {
    SetLaunchUnconfirmed(&r, true);
    r.updated_at = clock_->NowSeconds();
    r.message = "launch not confirmed yet (" + launch.status().message() +
                "); the next status poll reconciles it";
    report.message = "Request submitted; " + r.message + ".";
    spdlog::warn("{} {}", r.request_id, r.message);
  } else {
    Finalize(&r, {}, "launch failed: " + launch.status().message(), RequestState::kFailed);
    report.message = "Request failed: " + launch.status().message();
    spdlog::error("{} {}", r.request_id, r.message);
  }
  refresh.change.requests.push_back(r);
  // The request and its token were synced before the launch; what the launch
  // made carries the request's tag, so a poll finds it again if a power loss
  // undoes this commit. A refusal is known only here.
  if (launch.ok() || LaunchMayHaveHappened(launch.status())) {
    refresh.change.durability = Durability::kProcessCrash;
  }
  OHFP_RETURN_IF_ERROR(store_->Commit(refresh.change));
  CrashPoint("request.committed");
  report.request = r;
  for (const auto& m : refresh.change.machines) report.machines.push_back(m);
  return report;
}

Status Service::AdoptOrRelaunch(std::vector<Request*>& pending, Refresh* refresh) {
  auto p = provider();
  if (!p.ok()) return p.status();
  std::vector<std::string> ids;
  for (Request* r : pending) ids.push_back(r->request_id);
  auto found = (*p)->FindByRequest(ids);
  if (!found.ok()) return found.status();
  std::map<std::string, std::vector<Instance>> by_request;
  for (const Instance& i : *found) by_request[i.request_id].push_back(i);

  const int64_t now = clock_->NowSeconds();
  for (Request* r : pending) {
    auto it = by_request.find(r->request_id);
    if (it != by_request.end()) {
      // EC2 may list a launch's instances before all of them are visible (and
      // moto's list grows while it launches). A launch is all or nothing, so
      // adopting part of it would leave the rest running unseen: wait for
      // the whole set until the not-found grace has passed.
      bool partial = static_cast<int64_t>(it->second.size()) < r->machine_count;
      if (partial && now - r->updated_at < options_.not_found_grace_sec) {
        spdlog::info("{} {} of {} instances visible so far", r->request_id, it->second.size(),
                     r->machine_count);
        continue;
      }
      LaunchResult adopted;
      adopted.instances = it->second;
      Status trimmed = DropSurplus(*p, *r, &adopted.instances);
      if (!trimmed.ok()) {
        // Every instance keeps its tag, so the next poll finds them again.
        spdlog::warn("{} not adopted yet: {}", r->request_id, trimmed.message());
        continue;
      }
      adopted.message = std::to_string(adopted.instances.size()) +
                        " instances found by tag after an interrupted launch";
      ApplyLaunch(r, adopted, refresh);
      refresh->updated.push_back(r);
      continue;
    }
    // Nothing found: unless its last launch ended unconfirmed, a process
    // may still be launching it until the orphan timeout.
    if (!LaunchUnconfirmed(*r) && now - r->updated_at < options_.orphan_after_sec) continue;

    const Template* tmpl = templates().Find(r->template_id);
    if (!Attended(*r)) {
      // Its process died before Host Factory had the id, and nothing was
      // launched: launching now would make hosts nobody asked for.
      Finalize(r, {}, "launch never confirmed and the request was never polled; nothing launched",
               RequestState::kFailed);
    } else if (tmpl == nullptr) {
      Finalize(r, {}, "template '" + r->template_id + "' no longer exists", RequestState::kFailed);
    } else if (r->launch_attempts >= kMaxLaunchAttempts) {
      Finalize(r, {},
               "launch never confirmed after " + std::to_string(r->launch_attempts) + " attempts",
               RequestState::kFailed);
    } else {
      // The attempt is recorded before the call, like the first one.
      ++r->launch_attempts;
      SetLaunchUnconfirmed(r, false);  // this process is launching it now
      r->updated_at = now;
      OHFP_RETURN_IF_ERROR(store_->Commit({{*r}, {}}));
      spdlog::warn("{} not launched; launching again with the same token (attempt {})",
                   r->request_id, r->launch_attempts);
      auto launch = LaunchOrFind(*p, *tmpl, *r);
      if (launch.ok()) {
        ApplyLaunch(r, *launch, refresh);
      } else if (LaunchMayHaveHappened(launch.status())) {
        SetLaunchUnconfirmed(r, true);
        r->message = "launch not confirmed yet (" + launch.status().message() + ")";
      } else {
        Finalize(r, {}, "launch failed: " + launch.status().message(), RequestState::kFailed);
      }
    }
    refresh->updated.push_back(r);
  }
  // Adopted and relaunched machines must be in the store before the caller
  // describes the machines of every in-progress request.
  return CommitRefresh(refresh, nullptr);
}

Status Service::RefreshAcquisitions(std::vector<Request*>& requests, Refresh* refresh) {
  std::vector<Request*> pending;
  for (Request* r : requests) {
    if (r->state == RequestState::kPending) pending.push_back(r);
  }
  if (!pending.empty()) OHFP_RETURN_IF_ERROR(AdoptOrRelaunch(pending, refresh));

  std::vector<Request*> launched;
  std::vector<std::string> ids;
  for (Request* r : requests) {
    // An unattended request was only adopted: brought to a final state it
    // would hide its hosts from the abandonment that is coming for them.
    if (r->state == RequestState::kInProgress && Attended(*r)) {
      launched.push_back(r);
      ids.push_back(r->request_id);
    }
  }
  if (launched.empty()) return Status();
  refresh->reports.clear();

  auto p = provider();
  if (!p.ok()) return p.status();
  const int64_t now = clock_->NowSeconds();
  std::vector<std::string> stuck;
  std::map<std::string, std::vector<Machine>> by_request;
  {  // What the store and the cloud said is let go before the requests are decided.
    auto machines = store_->MachinesOfRequests(ids);
    if (!machines.ok()) return machines.status();
    std::vector<std::string> instance_ids;
    for (const Machine& m : *machines) instance_ids.push_back(m.machine_id);

    auto instances = (*p)->Describe(instance_ids);
    if (!instances.ok()) return instances.status();
    std::map<std::string, const Instance*> seen;
    for (const Instance& i : *instances) seen[i.instance_id] = &i;

    for (const Machine& before : *machines) {
      Machine m = before;
      auto it = seen.find(m.machine_id);
      if (it != seen.end()) {
        ApplyInstance(*it->second, now, &m);
      } else if (m.state != "terminated") {
        int64_t since = m.launch_time > 0 ? m.launch_time : m.updated_at;
        if (now - since >= options_.not_found_grace_sec) {
          m.state = "terminated";
          m.state_reason = "instance no longer exists in EC2";
        }
      }
      if (m.state == "pending" && m.launch_time > 0 &&
          now - m.launch_time > options_.pending_timeout_sec) {
        stuck.push_back(m.machine_id);
        m.state = "shutting-down";
        m.state_reason = "pending for more than " + std::to_string(options_.pending_timeout_sec) +
                         " s; terminated";
      }
      if (!SameObservation(m, before)) refresh->change.machines.push_back(m);
      by_request[m.request_id].push_back(std::move(m));
    }
  }
  if (!stuck.empty()) {
    spdlog::warn("terminating {} instances stuck pending", stuck.size());
    OHFP_RETURN_IF_ERROR((*p)->Release(stuck));
  }

  for (Request* r : launched) {
    std::vector<MachineReport> reports;
    auto mine = by_request.extract(r->request_id);  // let go as the reports are made
    if (!mine.empty()) {
      for (const Machine& m : mine.mapped()) reports.push_back(AcquisitionMachineReport(m));
    }
    Verdict v = DecideAcquisition(*r, reports);
    if (IsFinal(v.state)) {
      Finalize(r, reports, v.message, v.state);
      refresh->updated.push_back(r);
    } else if (v.message != r->message) {
      r->message = v.message;
      r->updated_at = now;
      refresh->updated.push_back(r);
    }
    refresh->reports[r->request_id] = std::move(reports);
  }
  return Status();
}

Status Service::RefreshReturns(std::vector<Request*>& requests, Refresh* refresh) {
  std::vector<std::string> machine_ids;
  for (Request* r : requests) {
    machine_ids.insert(machine_ids.end(), r->machine_ids.begin(), r->machine_ids.end());
  }
  auto machines = store_->GetMachines(machine_ids);
  if (!machines.ok()) return machines.status();
  std::map<std::string, Machine> by_id;
  for (const Machine& m : *machines) by_id[m.machine_id] = m;

  auto p = provider();
  if (!p.ok()) return p.status();

  // A return still pending never got its terminate call through (or its
  // process died first); terminating again is harmless.
  std::vector<std::string> to_release;
  for (Request* r : requests) {
    if (r->state != RequestState::kPending) continue;
    for (const auto& id : r->machine_ids) {
      auto it = by_id.find(id);
      if (it != by_id.end() && IsLive(it->second)) to_release.push_back(id);
    }
  }
  if (!to_release.empty()) OHFP_RETURN_IF_ERROR((*p)->Release(to_release));

  std::vector<std::string> ids;
  for (const auto& [id, m] : by_id) {
    if (m.state != "terminated") ids.push_back(id);
  }
  auto instances = (*p)->Describe(ids);
  if (!instances.ok()) return instances.status();
  std::set<std::string> present;
  const int64_t now = clock_->NowSeconds();
  for (const Instance& i : *instances) {
    present.insert(i.instance_id);
    Machine& m = by_id[i.instance_id];
    Machine before = m;
    ApplyInstance(i, now, &m);
    if (!SameObservation(m, before)) refresh->change.machines.push_back(m);
  }
  for (const auto& id : ids) {
    if (present.count(id)) continue;
    Machine& m = by_id[id];
    m.state = "terminated";
    m.state_reason = "instance no longer exists in EC2";
    m.updated_at = now;
    refresh->change.machines.push_back(m);
  }

  for (Request* r : requests) {
    std::vector<MachineReport> reports;
    for (const auto& id : r->machine_ids) {
      auto it = by_id.find(id);
      Machine m = it != by_id.end() ? it->second : Machine{};
      if (it == by_id.end()) {
        m.machine_id = id;
        m.state = "terminated";
      }
      reports.push_back(ReturnMachineReport(m));
    }
    Verdict v = DecideReturn(*r, reports);
    if (IsFinal(v.state)) {
      Finalize(r, reports, v.message, v.state);
    } else {
      r->state = RequestState::kInProgress;
      r->message = v.message;
      r->updated_at = now;
    }
    refresh->updated.push_back(r);
    refresh->reports[r->request_id] = std::move(reports);
  }
  return Status();
}

Status Service::CollectUnattended(const std::vector<std::string>& asked,
                                  std::map<std::string, Request>* by_id,
                                  std::vector<Request*>* abandoned) {
  RequestFilter filter;
  filter.active_only = true;
  auto active = store_->ListRequests(filter);
  if (!active.ok()) return active.status();
  const std::set<std::string> named(asked.begin(), asked.end());
  const int64_t now = clock_->NowSeconds();
  for (Request& r : *active) {
    if (named.count(r.request_id) || now - LastActivity(r) < options_.orphan_after_sec) continue;
    bool unattended = r.kind == RequestKind::kAcquire && !Attended(r);
    bool abandon = unattended && now - r.created_at >= options_.abandon_after_sec;
    // Until then an unattended acquisition is only adopted (its instances
    // recorded), never brought to a final state that would hide them.
    if (unattended && !abandon && r.state != RequestState::kPending) continue;
    Request& kept = (*by_id)[r.request_id] = std::move(r);
    if (abandon) abandoned->push_back(&kept);
  }
  return Status();
}

Status Service::AbandonRequests(std::vector<Request*>& abandoned, Refresh* refresh) {
  std::vector<std::string> ids;
  for (Request* r : abandoned) ids.push_back(r->request_id);
  auto recorded = store_->MachinesOfRequests(ids);
  if (!recorded.ok()) return recorded.status();
  auto p = provider();
  if (!p.ok()) return p.status();
  auto tagged = (*p)->FindByRequest(ids);
  if (!tagged.ok()) return tagged.status();

  const int64_t now = clock_->NowSeconds();
  std::map<std::string, Machine> machines;
  for (const Machine& m : *recorded) machines[m.machine_id] = m;
  for (const Instance& i : *tagged) {
    auto it = machines.find(i.instance_id);
    if (it == machines.end()) {
      Request owner;
      owner.request_id = i.request_id;
      owner.template_id = i.template_id;
      machines[i.instance_id] = MachineFromInstance(i, owner, now);
    } else {
      ApplyInstance(i, now, &it->second);
    }
  }
  std::vector<std::string> live;
  for (auto& [id, m] : machines) {
    if (!IsLive(m)) continue;
    live.push_back(id);
    m.state = "shutting-down";
    m.state_reason = "abandoned: its request was never polled";
    m.updated_at = now;
  }
  OHFP_RETURN_IF_ERROR((*p)->Release(live));

  std::map<std::string, std::vector<MachineReport>> reports;
  for (auto& [id, m] : machines) {
    reports[m.request_id].push_back({m, kResultFail, "abandoned"});
    refresh->change.machines.push_back(m);
  }
  for (Request* r : abandoned) {
    const auto& mine = reports[r->request_id];
    Finalize(r, mine,
             "abandoned: never polled in " + std::to_string(now - r->created_at) + " s; " +
                 std::to_string(mine.size()) + " instances terminated",
             RequestState::kFailed);
    refresh->updated.push_back(r);
  }
  spdlog::warn("abandoned {} requests never polled; terminated {} instances", abandoned.size(),
               live.size());
  return Status();
}

// The requests a refresh changed in place go into the commit by move and come
// back after it: a finished request carries its frozen answer, and copies of
// a thousand of them were the largest part of a big poll's memory. The change
// is let go once committed; `written`, if given, gets the ids of its requests.
Status Service::CommitRefresh(Refresh* refresh, std::set<std::string>* written) {
  StoreChange& change = refresh->change;
  const size_t copied = change.requests.size();
  for (Request* r : refresh->updated) change.requests.push_back(std::move(*r));
  if (written != nullptr) {
    for (const Request& r : change.requests) written->insert(r.request_id);
  }
  Status committed = store_->Commit(change);
  for (size_t i = 0; i < refresh->updated.size(); ++i) {
    *refresh->updated[i] = std::move(change.requests[copied + i]);
  }
  refresh->updated.clear();
  change = StoreChange{{}, {}, change.durability};
  return committed;
}

Result<std::vector<RequestReport>> Service::GetRequestStatus(const std::vector<std::string>& ids) {
  auto found = store_->GetRequests(ids);
  if (!found.ok()) return found.status();
  std::map<std::string, Request> by_id;
  for (Request& r : *found) by_id[r.request_id] = std::move(r);

  // Asked-for requests are marked as polled, so that they count as held by
  // Host Factory from now on.
  const int64_t now = clock_->NowSeconds();
  std::vector<Request*> marked;
  bool first_poll = false;
  for (auto& [id, r] : by_id) {
    if (IsFinal(r.state) || now - PolledAt(r) < kPollMarkEverySec) continue;
    first_poll = first_poll || !Attended(r);
    r.handles[kPolledAtKey] = now;
    marked.push_back(&r);
  }
  // What a poll writes is what the cloud says, except the first mark of a
  // request: only it tells a request Host Factory knows from one whose caller
  // died before answering, and those are terminated when old.
  const Durability durability = first_poll ? Durability::kPowerLoss : Durability::kProcessCrash;

  // Requests whose caller died before it could answer are finished here,
  // whoever polls: returns are completed, acquisitions that nobody polled
  // are adopted and, once old enough, abandoned.
  std::vector<Request*> abandoned;
  OHFP_RETURN_IF_ERROR(CollectUnattended(ids, &by_id, &abandoned));
  std::vector<Request*> acquisitions, returns;
  for (auto& [id, r] : by_id) {
    if (IsFinal(r.state)) continue;
    if (std::find(abandoned.begin(), abandoned.end(), &r) != abandoned.end()) continue;
    (r.kind == RequestKind::kAcquire ? acquisitions : returns).push_back(&r);
  }

  // A cloud failure while refreshing leaves those requests running (Host
  // Factory polls again); only a store failure fails the whole answer.
  Refresh acquired, returned, dropped;
  for (Refresh* f : {&acquired, &returned, &dropped}) f->change.durability = durability;
  std::string cloud_error;
  std::set<std::string> written;
  if (!abandoned.empty()) {
    Status s = AbandonRequests(abandoned, &dropped);
    if (!s.ok() && s.code() != ErrorCode::kProviderError) return s;
    if (!s.ok()) cloud_error = s.message();
    OHFP_RETURN_IF_ERROR(CommitRefresh(&dropped, &written));
  }
  if (!acquisitions.empty()) {
    Status s = RefreshAcquisitions(acquisitions, &acquired);
    if (!s.ok() && s.code() != ErrorCode::kProviderError) return s;
    if (!s.ok()) cloud_error = s.message();
    CrashPoint("status.refreshed");
    OHFP_RETURN_IF_ERROR(CommitRefresh(&acquired, &written));
  }
  if (!returns.empty()) {
    Status s = RefreshReturns(returns, &returned);
    if (!s.ok() && s.code() != ErrorCode::kProviderError) return s;
    if (!s.ok()) cloud_error = s.message();
    OHFP_RETURN_IF_ERROR(CommitRefresh(&returned, &written));
  }
  if (!cloud_error.empty()) spdlog::warn("status refresh incomplete: {}", cloud_error);
  StoreChange marks;
  marks.durability = durability;
  for (Request* r : marked) {
    if (!written.count(r->request_id)) marks.requests.push_back(*r);
  }
  OHFP_RETURN_IF_ERROR(store_->Commit(marks));

  // The requests and their machines move into the answer; an id named twice
  // is answered twice alike.
  std::vector<RequestReport> reports;
  std::map<std::string, size_t> answered;
  for (const std::string& id : ids) {
    if (auto a = answered.find(id); a != answered.end()) {
      RequestReport again = reports[a->second];
      reports.push_back(std::move(again));
      continue;
    }
    answered[id] = reports.size();
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      reports.push_back(UnknownReport(id));
      continue;
    }
    Request& r = it->second;
    if (IsFinal(r.state)) {
      std::vector<MachineReport> frozen = FrozenReports(r);
      reports.push_back(ReportFor(std::move(r), std::move(frozen)));
      continue;
    }
    Refresh& refresh = r.kind == RequestKind::kAcquire ? acquired : returned;
    auto refreshed = refresh.reports.find(id);
    std::vector<MachineReport> machines;
    if (refreshed != refresh.reports.end()) machines = std::move(refreshed->second);
    const bool stale = !cloud_error.empty() && refreshed == refresh.reports.end();
    RequestReport report = ReportFor(std::move(r), std::move(machines));
    if (stale) report.message += " (status not refreshed: " + cloud_error + ")";
    reports.push_back(std::move(report));
  }
  return reports;
}

Result<std::vector<RequestReport>> Service::GetActiveRequestStatus() {
  RequestFilter filter;
  filter.active_only = true;
  auto active = store_->ListRequests(filter);
  if (!active.ok()) return active.status();
  std::vector<std::string> ids;
  for (const Request& r : *active) ids.push_back(r.request_id);
  return GetRequestStatus(ids);
}

Result<std::vector<Machine>> Service::ResolveMachines(const std::vector<MachineRef>& refs) {
  std::vector<std::string> ids, names;
  for (const auto& ref : refs) {
    if (!ref.machine_id.empty()) ids.push_back(ref.machine_id);
    if (!ref.name.empty()) names.push_back(ref.name);
  }
  auto by_id = store_->GetMachines(ids);
  if (!by_id.ok()) return by_id.status();
  auto by_name = store_->FindMachinesByName(names);
  if (!by_name.ok()) return by_name.status();
  std::map<std::string, Machine> known_ids;
  std::map<std::string, Machine> known_names;
  for (const Machine& m : *by_id) known_ids[m.machine_id] = m;
  for (const Machine& m : *by_name) known_names[m.name] = m;

  // Hosts ohfp does not hold (lost state, another provider's) are looked up
  // in the cloud, once for all of them.
  std::vector<std::string> ask_ids, ask_names;
  for (const auto& ref : refs) {
    if (!ref.machine_id.empty()) {
      if (!known_ids.count(ref.machine_id)) ask_ids.push_back(ref.machine_id);
    } else if (!known_names.count(ref.name)) {
      ask_names.push_back(ref.name);
    }
  }
  std::map<std::string, Instance> cloud_ids, cloud_names;
  if (!ask_ids.empty() || !ask_names.empty()) {
    auto p = provider();
    if (!p.ok()) return p.status();
    if (!ask_ids.empty()) {
      auto found = (*p)->Describe(ask_ids);
      if (!found.ok()) return found.status();
      for (const Instance& i : *found) cloud_ids[i.instance_id] = i;
    }
    if (!ask_names.empty()) {
      auto found = (*p)->FindByName(ask_names);
      if (!found.ok()) return found.status();
      for (const Instance& i : *found) {
        cloud_names[i.private_dns_name] = i;
        cloud_names[i.private_ip] = i;
      }
    }
  }

  const int64_t now = clock_->NowSeconds();
  std::vector<Machine> out;
  std::set<std::string> taken;
  for (const auto& ref : refs) {
    Machine m;
    if (!ref.machine_id.empty() && known_ids.count(ref.machine_id)) {
      m = known_ids[ref.machine_id];
    } else if (ref.machine_id.empty() && known_names.count(ref.name)) {
      m = known_names[ref.name];
    } else {
      const Instance* i = nullptr;
      if (!ref.machine_id.empty() && cloud_ids.count(ref.machine_id)) {
        i = &cloud_ids[ref.machine_id];
      } else if (ref.machine_id.empty() && cloud_names.count(ref.name)) {
        i = &cloud_names[ref.name];
      }
      if (i != nullptr) {
        Request owner;
        owner.request_id = i->request_id;
        owner.template_id = i->template_id;
        m = MachineFromInstance(*i, owner, now);
        if (!ref.name.empty()) m.name = ref.name;
      } else {
        // Gone from the cloud too; the only identity left is what Host
        // Factory gave us.
        m.machine_id = !ref.machine_id.empty() ? ref.machine_id : ref.name;
        m.name = ref.name;
        m.state = "terminated";
        m.state_reason = "instance no longer exists in EC2";
        m.updated_at = now;
      }
    }
    if (m.name.empty()) m.name = ref.name;
    if (taken.insert(m.machine_id).second) out.push_back(std::move(m));
  }
  return out;
}

Result<SubmitReport> Service::RequestReturnMachines(const std::vector<MachineRef>& refs) {
  auto resolved = ResolveMachines(refs);
  if (!resolved.ok()) return resolved.status();
  std::vector<Machine>& machines = *resolved;

  const int64_t now = clock_->NowSeconds();
  Request r;
  r.request_id = "ret-" + ids_->NewUuid();
  r.kind = RequestKind::kReturn;
  r.machine_count = static_cast<int64_t>(machines.size());
  r.state = RequestState::kPending;
  r.created_at = r.updated_at = now;
  std::vector<std::string> live;
  for (Machine& m : machines) {
    r.machine_ids.push_back(m.machine_id);
    m.return_request_id = r.request_id;
    if (IsLive(m)) live.push_back(m.machine_id);
  }
  SubmitReport report;
  if (machines.empty()) {
    Finalize(&r, {}, "No Active VM.", RequestState::kComplete);
    OHFP_RETURN_IF_ERROR(store_->Commit({{r}, {}}));
    report.request = r;
    report.message = "No Active VM.";
    return report;
  }
  // The return is durable before anything is terminated, so a crash after
  // this line is completed by the next status poll.
  r.message = "termination requested";
  OHFP_RETURN_IF_ERROR(store_->Commit({{r}, machines}));
  spdlog::info("{} recorded: return of {} hosts", r.request_id, machines.size());
  CrashPoint("return.recorded");

  report.message = "Termination requested for " + std::to_string(machines.size()) +
                   (machines.size() == 1 ? " host." : " hosts.");
  if (!live.empty()) {
    auto p = provider();
    Status s = p.ok() ? (*p)->Release(live) : p.status();
    CrashPoint("return.released");
    if (!s.ok()) {
      spdlog::warn("{} terminate not confirmed: {}", r.request_id, s.message());
      report.request = r;
      report.machines = machines;
      report.message += " Termination will be retried by the next status poll.";
      return report;
    }
  }
  r.state = RequestState::kInProgress;
  r.updated_at = clock_->NowSeconds();
  // Terminating again is harmless, so a power loss may undo this.
  OHFP_RETURN_IF_ERROR(store_->Commit({{r}, {}, Durability::kProcessCrash}));
  CrashPoint("return.committed");
  report.request = r;
  report.machines = machines;
  return report;
}

Result<ReclaimReport> Service::GetReturnRequests(const std::vector<MachineRef>& refs,
                                                 bool machines_given) {
  std::vector<Machine> machines;
  if (machines_given) {
    auto resolved = ResolveMachines(refs);
    if (!resolved.ok()) return resolved.status();
    machines = std::move(*resolved);
  } else {
    auto live = store_->ListLiveMachines();
    if (!live.ok()) return live.status();
    machines = std::move(*live);
  }
  ReclaimReport report;
  report.checked = static_cast<int64_t>(machines.size());
  if (machines.empty()) return report;

  std::vector<std::string> ids;
  for (const Machine& m : machines) {
    if (m.state != "terminated") ids.push_back(m.machine_id);
  }
  std::map<std::string, Instance> seen;
  if (!ids.empty()) {
    auto p = provider();
    if (!p.ok()) return p.status();
    auto instances = (*p)->Describe(ids);
    if (!instances.ok()) return instances.status();
    for (const Instance& i : *instances) seen[i.instance_id] = i;
  }

  const int64_t now = clock_->NowSeconds();
  StoreChange change;
  change.durability = Durability::kProcessCrash;  // only what EC2 said
  for (Machine& m : machines) {
    Machine before = m;
    auto it = seen.find(m.machine_id);
    if (it != seen.end()) {
      ApplyInstance(it->second, now, &m);
    } else if (m.state != "terminated") {
      m.state = "terminated";
      m.state_reason = "instance no longer exists in EC2";
      m.updated_at = now;
    }
    // Only records we hold are updated; a host we never held stays unknown.
    if (!SameObservation(m, before) && !m.request_id.empty()) change.machines.push_back(m);

    bool gone = m.state == "terminated" || m.state == "shutting-down";
    bool stopped_by_cloud =
        (m.state == "stopped" || m.state == "stopping") && m.return_request_id.empty();
    if (gone || stopped_by_cloud) {
      std::string reason = m.state_reason.empty() ? m.state : m.state + ": " + m.state_reason;
      report.machines.push_back({m.name.empty() ? m.machine_id : m.name, m.machine_id, 0, reason});
    }
  }
  OHFP_RETURN_IF_ERROR(store_->Commit(change));
  return report;
}

Result<ReconcileReport> Service::Reconcile(bool clean) {
  auto p = provider();
  if (!p.ok()) return p.status();
  auto managed = (*p)->FindManaged();
  if (!managed.ok()) return managed.status();

  std::vector<std::string> request_ids, instance_ids;
  for (const Instance& i : *managed) {
    instance_ids.push_back(i.instance_id);
    if (!i.request_id.empty()) request_ids.push_back(i.request_id);
  }
  auto requests = store_->GetRequests(request_ids);
  if (!requests.ok()) return requests.status();
  auto machines = store_->GetMachines(instance_ids);
  if (!machines.ok()) return machines.status();
  std::map<std::string, const Request*> request_of;
  for (const Request& r : *requests) request_of[r.request_id] = &r;
  std::map<std::string, const Machine*> machine_of;
  std::vector<std::string> return_ids;
  for (const Machine& m : *machines) {
    machine_of[m.machine_id] = &m;
    if (!m.return_request_id.empty()) return_ids.push_back(m.return_request_id);
  }
  auto returns = store_->GetRequests(return_ids);
  if (!returns.ok()) return returns.status();
  std::set<std::string> final_returns;
  for (const Request& r : *returns) {
    if (IsFinal(r.state)) final_returns.insert(r.request_id);
  }

  // Why no live request owns `i`, or "" when one does.
  auto stray_reason = [&](const Instance& i) -> std::string {
    auto r = request_of.find(i.request_id);
    if (i.request_id.empty()) return "no request id tag";
    if (r == request_of.end()) return "its request is unknown to this store";
    auto m = machine_of.find(i.instance_id);
    if (m != machine_of.end() && final_returns.count(m->second->return_request_id)) {
      return "returned by " + m->second->return_request_id + " but still " + i.state;
    }
    if (!IsFinal(r->second->state)) return "";
    for (const MachineReport& kept : FrozenReports(*r->second)) {
      if (kept.machine.machine_id == i.instance_id && kept.result == kResultSucceed) return "";
    }
    return "not a host of its request, which is " + std::string(RequestStateName(r->second->state));
  };

  ReconcileReport report;
  report.checked = static_cast<int64_t>(managed->size());
  std::vector<std::string> strays;
  for (const Instance& i : *managed) {
    std::string why = stray_reason(i);
    if (why.empty()) continue;
    report.strays.push_back({i.instance_id, i.request_id, i.template_id, i.state, why});
    strays.push_back(i.instance_id);
    spdlog::warn("stray instance {} (request {}): {}", i.instance_id, i.request_id, why);
  }
  if (clean && !strays.empty()) {
    OHFP_RETURN_IF_ERROR((*p)->Release(strays));
    report.cleaned = true;
    spdlog::warn("terminated {} stray instances", strays.size());
  }
  return report;
}

Result<std::vector<Request>> Service::ListReturnRequests(bool active_only, int64_t limit) {
  RequestFilter filter;
  filter.kind = RequestKind::kReturn;
  filter.active_only = active_only;
  filter.limit = limit;
  return store_->ListRequests(filter);
}

}  // namespace ohfp
