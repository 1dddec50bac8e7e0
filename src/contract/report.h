// Typed results of the five verbs, before they are formatted. The service
// fills them; contract/output.h turns them into either output format.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/template.h"
#include "core/model.h"

namespace ohfp {

/// Host Factory request status values.
inline constexpr const char* kHfRunning = "running";
inline constexpr const char* kHfComplete = "complete";
inline constexpr const char* kHfCompleteWithError = "complete_with_error";

/// Host Factory machine result values.
inline constexpr const char* kResultExecuting = "executing";
inline constexpr const char* kResultSucceed = "succeed";
inline constexpr const char* kResultFail = "fail";

/// One machine as a request reports it.
struct MachineReport {
  Machine machine;
  std::string result;   // executing | succeed | fail (outcome for this request)
  std::string message;  // non-empty when result is fail
};

/// The status of one request, as getRequestStatus answers it.
struct RequestReport {
  std::string request_id;
  bool known = true;      // false: no such request (answered complete_with_error)
  Request request;        // valid when known
  std::string hf_status;  // running | complete | complete_with_error
  std::string message;
  std::vector<MachineReport> machines;
};

struct TemplateReport {
  const Template* tmpl = nullptr;
  int64_t held = 0;  // hosts currently held (counts against maxNumber)
};

struct TemplatesReport {
  std::vector<TemplateReport> templates;
  std::vector<std::string> rejected;  // templates left out, with the reason
};

/// requestMachines / requestReturnMachines: the request just recorded.
struct SubmitReport {
  Request request;
  std::vector<Machine> machines;  // what is known right after the submit
  std::string message;
};

/// A host the cloud is taking back (getReturnRequests, Host Factory side).
struct ReclaimedMachine {
  std::string name;
  std::string machine_id;
  int64_t grace_period = 0;  // seconds until the cloud takes it; 0 = gone now
  std::string reason;        // EC2 state or state reason
};

struct ReclaimReport {
  std::vector<ReclaimedMachine> machines;
  int64_t checked = 0;  // hosts looked at
};

/// A cloud resource carrying our tags that no live request owns.
struct StrayInstance {
  std::string instance_id;
  std::string request_id;   // from its tag ("" if none)
  std::string template_id;  // from its tag
  std::string state;
  std::string reason;  // why no request owns it
};

/// What `ohfp reconcile` found (and, when cleaned, asked the cloud to end).
struct ReconcileReport {
  int64_t checked = 0;  // live instances carrying our tags
  std::vector<StrayInstance> strays;
  bool cleaned = false;  // the strays were terminated
};

}  // namespace ohfp
