// The request logic: one function per Host Factory verb. It depends only on
// interfaces (Store, Provider, Clock, IdGenerator), never on SQLite, sockets
// or the process environment, so it is tested with fakes.
//
// Invariants:
//  - An acquisition is recorded, with its idempotency token, before the first
//    cloud call that could create anything; every machine carries the request
//    id as a tag, so a crash between the two is repaired by the next status
//    poll (found by tag, or relaunched with the same token).
//  - A launch whose answer was lost is never repeated before looking for its
//    instances by tag, and a request never keeps more instances than it
//    asked for: a surplus found by tag is terminated.
//  - Once a request is final its answer never changes: the machines' results
//    are frozen into the request when it becomes final.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/template.h"
#include "contract/command.h"
#include "contract/report.h"
#include "core/clock.h"
#include "provider/provider.h"
#include "store/store.h"

namespace ohfp {

struct ServiceOptions {
  /// Instances still pending this long after launch are terminated and
  /// reported failed (AWS_INSTANCE_PENDING_TIMEOUT_SEC).
  int64_t pending_timeout_sec = 180;
  /// An acquisition whose launch was never confirmed is taken as orphaned
  /// (its process died) once it is this old; the next status poll looks for
  /// its machines by tag and, finding none, launches again with the same
  /// idempotency token. Host Factory's action timeout is the natural value:
  /// no live process can still be launching after it.
  int64_t orphan_after_sec = 240;
  /// A machine the cloud no longer knows is taken as gone only after this
  /// many seconds since we last saw it (EC2 is eventually consistent).
  int64_t not_found_grace_sec = 60;
  /// Requests are made for Host Factory (the scripts), not a person at a
  /// shell. Recorded with each acquisition: Host Factory polls every request
  /// whose id it received, so one of its requests that is never polled was
  /// cut off before its answer reached Host Factory.
  bool host_factory = false;
  /// A Host Factory acquisition never polled this long after it was made is
  /// abandoned: its instances are terminated and it is finalized as failed,
  /// so that a machine nobody will ever use does not run up a bill.
  int64_t abandon_after_sec = 960;
};

/// Supplies the cloud provider on first use, so verbs that need no cloud
/// call (getAvailableTemplates) never pay for setting it up.
using ProviderSource = std::function<Result<Provider*>()>;

/// Supplies the templates on first use: status polls and returns need them
/// only to relaunch an interrupted acquisition, so most calls never read the
/// template file. Never null; a template file that cannot be read is an
/// empty set.
using TemplateSource = std::function<const TemplateSet*()>;

class Service {
 public:
  /// Every pointer must outlive the service.
  Service(Store* store, TemplateSource templates, ProviderSource provider, const Clock* clock,
          IdGenerator* ids, ServiceOptions options);
  /// The same, with the templates already loaded.
  Service(Store* store, const TemplateSet* templates, ProviderSource provider, const Clock* clock,
          IdGenerator* ids, ServiceOptions options);

  /// The valid templates (only those of `provider_api` if not empty), each
  /// with the hosts it holds now.
  Result<TemplatesReport> GetAvailableTemplates(const std::string& provider_api);

  /// Records an acquisition of `count` hosts of `template_id` and launches
  /// them. Refuses (kResourceLimitExceeded) a count that would take the
  /// template past maxNumber. A launch the cloud refused outright is
  /// recorded as failed and still answered with its request id.
  Result<SubmitReport> RequestMachines(const std::string& template_id, int64_t count);

  /// The status of each request id, in the order given; an unknown id is
  /// answered complete_with_error. Non-final requests are refreshed from the
  /// cloud with as few calls as the machine count allows.
  Result<std::vector<RequestReport>> GetRequestStatus(const std::vector<std::string>& ids);

  /// Status of every request that is not final yet.
  Result<std::vector<RequestReport>> GetActiveRequestStatus();

  /// Records a return of these hosts and asks the cloud to terminate them.
  /// Always answers with a new return request id.
  Result<SubmitReport> RequestReturnMachines(const std::vector<MachineRef>& machines);

  /// Hosts the cloud has taken or is taking back: of `machines` when
  /// `machines_given`, else of every live host ohfp holds.
  Result<ReclaimReport> GetReturnRequests(const std::vector<MachineRef>& machines,
                                          bool machines_given);

  /// Finds live cloud instances carrying our tags that no live request owns
  /// (their request is unknown, final without them, or returned them);
  /// terminates them when `clean`.
  Result<ReconcileReport> Reconcile(bool clean);

  /// The return requests ohfp holds, newest first.
  Result<std::vector<Request>> ListReturnRequests(bool active_only, int64_t limit);

 private:
  struct Refresh;

  Result<Provider*> provider();
  const TemplateSet& templates();
  Status RefreshAcquisitions(std::vector<Request*>& requests, Refresh* refresh);
  Status RefreshReturns(std::vector<Request*>& requests, Refresh* refresh);
  Status AdoptOrRelaunch(std::vector<Request*>& pending, Refresh* refresh);
  Status AbandonRequests(std::vector<Request*>& abandoned, Refresh* refresh);
  Status CommitRefresh(Refresh* refresh, std::set<std::string>* written);
  Status CollectUnattended(const std::vector<std::string>& asked,
                           std::map<std::string, Request>* by_id, std::vector<Request*>* abandoned);
  void ApplyLaunch(Request* request, const LaunchResult& launch, Refresh* refresh);
  /// Launches `request`; after a launch whose answer was lost, looks for its
  /// instances by tag before launching again with the same token.
  Result<LaunchResult> LaunchOrFind(Provider* p, const Template& tmpl, const Request& request);
  /// Keeps `request.machine_count` of the instances `found` by its tag and
  /// terminates the others; on error nothing is kept (the next poll retries).
  Status DropSurplus(Provider* p, const Request& request, std::vector<Instance>* found);
  void Finalize(Request* request, const std::vector<MachineReport>& reports,
                const std::string& message, RequestState state);
  Result<std::vector<Machine>> ResolveMachines(const std::vector<MachineRef>& refs);

  Store* store_;
  TemplateSource template_source_;
  const TemplateSet* templates_ = nullptr;
  ProviderSource provider_source_;
  Provider* provider_ = nullptr;
  const Clock* clock_;
  IdGenerator* ids_;
  ServiceOptions options_;
};

/// A machine record for a freshly seen instance of `request`.
Machine MachineFromInstance(const Instance& instance, const Request& request, int64_t now);

/// Copies what the cloud says now into `machine`; the host name is kept once
/// known, and addresses are kept when the cloud strips them on termination.
void ApplyInstance(const Instance& instance, int64_t now, Machine* machine);

}  // namespace ohfp
