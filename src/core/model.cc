#include "core/model.h"

namespace ohfp {

const char* RequestKindName(RequestKind kind) {
  return kind == RequestKind::kAcquire ? "acquire" : "return";
}

std::optional<RequestKind> ParseRequestKind(const std::string& s) {
  if (s == "acquire") return RequestKind::kAcquire;
  if (s == "return") return RequestKind::kReturn;
  return std::nullopt;
}

const char* RequestStateName(RequestState state) {
  switch (state) {
    case RequestState::kPending:
      return "pending";
    case RequestState::kInProgress:
      return "in_progress";
    case RequestState::kComplete:
      return "complete";
    case RequestState::kPartial:
      return "partial";
    case RequestState::kFailed:
      return "failed";
  }
  return "pending";
}

std::optional<RequestState> ParseRequestState(const std::string& s) {
  for (RequestState st : {RequestState::kPending, RequestState::kInProgress,
                          RequestState::kComplete, RequestState::kPartial,
                          RequestState::kFailed}) {
    if (s == RequestStateName(st)) return st;
  }
  return std::nullopt;
}

bool IsFinal(RequestState state) {
  return state == RequestState::kComplete || state == RequestState::kPartial ||
         state == RequestState::kFailed;
}

bool IsLive(const Machine& m) {
  return m.state != "terminated" && m.state != "shutting-down";
}

}  // namespace ohfp
