// The records ohfp keeps: requests (acquisitions "req-…" and returns "ret-…")
// and machines. These are plain values; the store persists them and the
// service decides how they change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ohfp {

enum class RequestKind { kAcquire, kReturn };

/// Internal request lifecycle. Host Factory sees pending/in_progress as
/// "running", complete as "complete" and failed/partial as
/// "complete_with_error".
enum class RequestState {
  kPending,     // recorded; the cloud call may not have been made yet
  kInProgress,  // the cloud accepted it; machines are on their way
  kComplete,    // final: every machine is as asked
  kPartial,     // final: some machines arrived, some did not
  kFailed,      // final: nothing usable
};

const char* RequestKindName(RequestKind kind);  // "acquire" | "return"
std::optional<RequestKind> ParseRequestKind(const std::string& s);
const char* RequestStateName(RequestState state);  // "pending", "in_progress", …
std::optional<RequestState> ParseRequestState(const std::string& s);
/// True for kComplete, kPartial and kFailed: the answer never changes again.
bool IsFinal(RequestState state);

/// One acquisition or return request.
struct Request {
  std::string request_id;  // "req-<uuid>" or "ret-<uuid>"
  RequestKind kind = RequestKind::kAcquire;
  std::string template_id;    // acquisitions only
  std::string provider_api;   // "RunInstances", … (acquisitions only)
  int64_t machine_count = 0;  // hosts asked for (returns: hosts named)
  RequestState state = RequestState::kPending;
  std::string message;       // last human-readable outcome or error
  std::string client_token;  // idempotency token sent with the launch call
  /// Cloud handles: {"reservation_ids": [...], "fleet_id": "...", ...}.
  nlohmann::json handles = nlohmann::json::object();
  /// Returns: the machine ids Host Factory asked to give back, in order.
  std::vector<std::string> machine_ids;
  int64_t created_at = 0;    // epoch seconds
  int64_t updated_at = 0;    // epoch seconds
  int64_t completed_at = 0;  // epoch seconds, 0 until final
  int64_t launch_attempts = 0;  // how many times the launch call was sent

  bool operator==(const Request&) const = default;
};

/// One cloud machine (EC2 instance) that ohfp launched or was asked to return.
struct Machine {
  std::string machine_id;         // "i-…"
  std::string name;               // host name; private DNS name, kept once known
  std::string request_id;         // acquisition that created it ("" if unknown)
  std::string return_request_id;  // return that is giving it back ("" if none)
  std::string template_id;
  std::string state;         // last EC2 state: pending, running, stopping, …
  std::string state_reason;  // EC2 stateReason code or our own reason
  std::string private_ip;
  std::string public_ip;
  std::string instance_type;
  std::string price_type;  // "ondemand" | "spot"
  int64_t launch_time = 0;  // epoch seconds, 0 if unknown
  int64_t updated_at = 0;   // epoch seconds of the last observation

  bool operator==(const Machine&) const = default;
};

/// True when the machine still exists for Host Factory's purposes: not
/// terminated and not being shut down.
bool IsLive(const Machine& m);

}  // namespace ohfp
