// The cloud seen by the request logic. The AWS provider implements it on
// EC2; tests pass a fake that implements the same interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/template.h"
#include "core/model.h"
#include "core/status.h"

namespace ohfp {

/// A cloud machine as the cloud describes it right now.
struct Instance {
  std::string instance_id;
  std::string state;         // pending, running, stopping, stopped, shutting-down, terminated
  std::string state_reason;  // EC2 stateReason code, "" if none
  std::string private_dns_name;
  std::string private_ip;
  std::string public_ip;
  std::string instance_type;
  std::string lifecycle;  // "spot" or "" (on-demand)
  int64_t launch_time = 0;
  std::string request_id;   // value of our request-id tag, "" if none
  std::string template_id;  // value of our template-id tag, "" if none
};

/// What a launch produced.
struct LaunchResult {
  std::vector<Instance> instances;                    // may be fewer than asked
  nlohmann::json handles = nlohmann::json::object();  // reservation ids, fleet id, …
  std::string message;                                // why fewer than asked, "" if all
};

class Provider {
 public:
  virtual ~Provider() = default;

  /// Starts `request.machine_count` machines of `tmpl`. The request's
  /// client_token makes a repeat return the first launch's machines where
  /// the cloud honours it, and every machine is tagged with the request and
  /// template ids, so a caller can find them after a lost answer. A launch
  /// the cloud refused entirely is an error; one whose answer may have been
  /// lost is an error the caller must not repeat without looking first.
  virtual Result<LaunchResult> Launch(const Template& tmpl, const Request& request) = 0;

  /// Current view of these instances; ids the cloud no longer knows are
  /// absent from the answer. Batched: never one call per machine.
  virtual Result<std::vector<Instance>> Describe(const std::vector<std::string>& instance_ids) = 0;

  /// Every instance carrying one of these request ids in our tag.
  virtual Result<std::vector<Instance>> FindByRequest(
      const std::vector<std::string>& request_ids) = 0;

  /// Every instance not terminated or shutting down that carries our managed-by tag,
  /// whichever request launched it. Paged, a handful of calls in all.
  virtual Result<std::vector<Instance>> FindManaged() = 0;

  /// Instances whose private DNS name or private IP is one of `names`.
  virtual Result<std::vector<Instance>> FindByName(const std::vector<std::string>& names) = 0;

  /// Asks the cloud to terminate these instances; ids it no longer knows are
  /// not an error. Batched.
  virtual Status Release(const std::vector<std::string>& instance_ids) = 0;
};

}  // namespace ohfp
