// The rules that turn cloud machine states into Host Factory answers: a
// machine's result within a request, and when a request is running,
// complete or complete_with_error. Pure functions; see status_rules_test.cc.
#pragma once

#include <string>
#include <vector>

#include "contract/report.h"
#include "core/model.h"

namespace ohfp {

/// A machine's result within the acquisition that launched it: pending (or
/// not yet seen) → executing; running → succeed; stopping, stopped,
/// shutting-down, terminated → fail, with the state reason as message.
MachineReport AcquisitionMachineReport(const Machine& machine);

/// A machine's result within a return: terminated or stopped (or gone from
/// the cloud) → succeed; anything else → executing.
MachineReport ReturnMachineReport(const Machine& machine);

struct Verdict {
  RequestState state = RequestState::kInProgress;
  std::string message;
};

/// An acquisition of `request.machine_count` hosts given what its machines
/// are doing now: in progress while any machine is executing; complete when
/// that many run and none failed; otherwise final, partial if some run and
/// failed if none do. The message counts hosts and names failure reasons.
Verdict DecideAcquisition(const Request& request, const std::vector<MachineReport>& machines);

/// A return: complete once every machine has succeeded, else in progress.
Verdict DecideReturn(const Request& request, const std::vector<MachineReport>& machines);

/// running | complete | complete_with_error for an internal state.
const char* HostFactoryStatus(RequestState state);

}  // namespace ohfp
