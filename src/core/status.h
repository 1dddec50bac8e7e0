// The one error type of ohfp: a stable code, a human message and details.
// It is mapped to the documented JSON error body and exit code in exactly one
// place (contract/output.cc). Nothing is thrown across module boundaries:
// every fallible call returns a Status or a Result<T>.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

namespace ohfp {

/// Stable error codes. The first five are part of the documented CLI contract.
enum class ErrorCode {
  kOk,
  kTemplateNotFound,       // TEMPLATE_NOT_FOUND, exit 4
  kInvalidRequest,         // INVALID_REQUEST, exit 4
  kProviderError,          // PROVIDER_ERROR, exit 3
  kConfigurationError,     // CONFIGURATION_ERROR, exit 2
  kResourceLimitExceeded,  // RESOURCE_LIMIT_EXCEEDED, exit 4
  kStorageError,           // STORAGE_ERROR, exit 1
  kNotFound,               // NOT_FOUND (internal lookups), exit 1
  kConflict,               // CONFLICT (already exists), exit 1
  kInternal,               // INTERNAL_ERROR, exit 1
};

/// "TEMPLATE_NOT_FOUND" etc.
const char* ErrorCodeName(ErrorCode code);

/// Process exit code for an error code: 0 ok, 1 general, 2 configuration,
/// 3 provider, 4 validation.
int ExitCodeFor(ErrorCode code);

class Status {
 public:
  /// An ok status.
  Status() = default;

  static Status Error(ErrorCode code, std::string message,
                      nlohmann::json details = nlohmann::json::object()) {
    assert(code != ErrorCode::kOk);
    Status s;
    s.code_ = code;
    s.message_ = std::move(message);
    s.details_ = std::move(details);
    return s;
  }
  static Status InvalidRequest(std::string m) {
    return Error(ErrorCode::kInvalidRequest, std::move(m));
  }
  static Status Configuration(std::string m) {
    return Error(ErrorCode::kConfigurationError, std::move(m));
  }
  static Status Provider(std::string m) { return Error(ErrorCode::kProviderError, std::move(m)); }
  static Status Storage(std::string m) { return Error(ErrorCode::kStorageError, std::move(m)); }
  static Status NotFound(std::string m) { return Error(ErrorCode::kNotFound, std::move(m)); }
  static Status Conflict(std::string m) { return Error(ErrorCode::kConflict, std::move(m)); }
  static Status Internal(std::string m) { return Error(ErrorCode::kInternal, std::move(m)); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const nlohmann::json& details() const { return details_; }
  nlohmann::json& mutable_details() { return details_; }

  /// "CODE: message", or "OK".
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  nlohmann::json details_ = nlohmann::json::object();
};

/// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ohfp

/// Returns early from the enclosing function when `expr` (a Status) fails.
#define OHFP_RETURN_IF_ERROR(expr)       \
  do {                                   \
    ::ohfp::Status ohfp_s_ = (expr);     \
    if (!ohfp_s_.ok()) return ohfp_s_;   \
  } while (0)
