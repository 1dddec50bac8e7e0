#include "core/status.h"

namespace ohfp {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kTemplateNotFound:
      return "TEMPLATE_NOT_FOUND";
    case ErrorCode::kInvalidRequest:
      return "INVALID_REQUEST";
    case ErrorCode::kProviderError:
      return "PROVIDER_ERROR";
    case ErrorCode::kConfigurationError:
      return "CONFIGURATION_ERROR";
    case ErrorCode::kResourceLimitExceeded:
      return "RESOURCE_LIMIT_EXCEEDED";
    case ErrorCode::kStorageError:
      return "STORAGE_ERROR";
    case ErrorCode::kNotFound:
      return "NOT_FOUND";
    case ErrorCode::kConflict:
      return "CONFLICT";
    case ErrorCode::kInternal:
      return "INTERNAL_ERROR";
  }
  return "INTERNAL_ERROR";
}

int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 0;
    case ErrorCode::kConfigurationError:
      return 2;
    case ErrorCode::kProviderError:
      return 3;
    case ErrorCode::kTemplateNotFound:
    case ErrorCode::kInvalidRequest:
    case ErrorCode::kResourceLimitExceeded:
      return 4;
    default:
      return 1;
  }
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(ErrorCodeName(code_)) + ": " + message_;
}

}  // namespace ohfp
