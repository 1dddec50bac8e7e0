#include "service/status_rules.h"

#include <map>

namespace ohfp {

namespace {

bool IsFailedState(const std::string& state) {
  return state == "stopping" || state == "stopped" || state == "shutting-down" ||
         state == "terminated";
}

std::string FailureMessage(const Machine& m) {
  if (!m.state_reason.empty()) return m.state_reason;
  return "instance is " + m.state;
}

}  // namespace

MachineReport AcquisitionMachineReport(const Machine& machine) {
  MachineReport r{machine, kResultExecuting, ""};
  if (machine.state == "running") {
    r.result = kResultSucceed;
  } else if (IsFailedState(machine.state)) {
    r.result = kResultFail;
    r.message = FailureMessage(machine);
  }
  return r;
}

MachineReport ReturnMachineReport(const Machine& machine) {
  MachineReport r{machine, kResultExecuting, ""};
  if (machine.state == "terminated" || machine.state == "stopped") r.result = kResultSucceed;
  return r;
}

Verdict DecideAcquisition(const Request& request, const std::vector<MachineReport>& machines) {
  int64_t running = 0, failed = 0, executing = 0;
  std::map<std::string, int> reasons;
  for (const auto& m : machines) {
    if (m.result == kResultSucceed) {
      ++running;
    } else if (m.result == kResultFail) {
      ++failed;
      ++reasons[m.message];
    } else {
      ++executing;
    }
  }
  const int64_t wanted = request.machine_count;
  std::string counts = std::to_string(running) + " of " + std::to_string(wanted) +
                       (wanted == 1 ? " host" : " hosts") + " running";

  if (executing > 0) return {RequestState::kInProgress, counts};
  if (running >= wanted && failed == 0) return {RequestState::kComplete, counts};

  std::string message = counts;
  if (failed > 0) {
    message += "; " + std::to_string(failed) + " failed:";
    bool first = true;
    for (const auto& [reason, n] : reasons) {
      message += (first ? " " : ", ") + reason + (n > 1 ? " (x" + std::to_string(n) + ")" : "");
      first = false;
    }
  }
  int64_t missing = wanted - running - failed;
  if (missing > 0) message += "; " + std::to_string(missing) + " never launched";
  return {running > 0 ? RequestState::kPartial : RequestState::kFailed, message};
}

Verdict DecideReturn(const Request& request, const std::vector<MachineReport>& machines) {
  int64_t done = 0;
  for (const auto& m : machines) {
    if (m.result == kResultSucceed) ++done;
  }
  int64_t total = static_cast<int64_t>(machines.size());
  std::string message = std::to_string(done) + " of " + std::to_string(total) +
                        (total == 1 ? " host" : " hosts") + " returned";
  if (done == total) return {RequestState::kComplete, message};
  return {RequestState::kInProgress, message};
}

const char* HostFactoryStatus(RequestState state) {
  switch (state) {
    case RequestState::kComplete:
      return kHfComplete;
    case RequestState::kPartial:
    case RequestState::kFailed:
      return kHfCompleteWithError;
    default:
      return kHfRunning;
  }
}

}  // namespace ohfp
