#include "aws/retry.h"

#include <algorithm>
#include <cassert>

namespace ohfp::aws {

bool IsThrottlingCode(const std::string& aws_code) {
  static const char* const kCodes[] = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "LimitExceededException",
      "RequestThrottled",
      "SlowDown",
      "EC2ThrottledException",
  };
  for (const char* code : kCodes) {
    if (aws_code == code) return true;
  }
  return false;
}

FailureKind ClassifyFailure(const std::string& transport, int http_status,
                            const std::string& aws_code) {
  if (transport == "timeout") return FailureKind::kTimeout;
  if (!transport.empty()) return FailureKind::kTransient;
  if (IsThrottlingCode(aws_code) || http_status == 429) return FailureKind::kThrottling;
  if (aws_code == "RequestTimeout" || aws_code == "RequestTimeoutException" ||
      aws_code == "PriorRequestNotComplete" || aws_code == "IDPCommunicationError") {
    return FailureKind::kTransient;
  }
  if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504) {
    return FailureKind::kTransient;
  }
  return FailureKind::kPermanent;
}

int64_t BackoffDelayMs(const RetryConfig& config, FailureKind kind, int attempt, double random01,
                       int64_t retry_after_ms) {
  assert(attempt >= 1);
  int64_t base =
      kind == FailureKind::kThrottling ? config.throttling_base_ms : config.transient_base_ms;
  int64_t ceiling = base;
  for (int i = 1; i < attempt && ceiling < config.max_backoff_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, config.max_backoff_ms);
  random01 = std::clamp(random01, 0.0, 1.0);
  int64_t delay = static_cast<int64_t>(random01 * static_cast<double>(ceiling));
  if (retry_after_ms >= 0) {
    delay = std::clamp(retry_after_ms, delay, delay + config.retry_after_max_extra_ms);
  }
  return delay;
}

RetryQuota::RetryQuota(const RetryConfig& config)
    : config_(config), available_(config.initial_quota) {}

void RetryQuota::Reset(const RetryConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  config_ = config;
  available_ = config.initial_quota;
}

int RetryQuota::available() const {
  std::lock_guard<std::mutex> lock(mu_);
  return available_;
}

bool RetryQuota::Acquire(FailureKind kind, int* cost) {
  int c = kind == FailureKind::kThrottling ? config_.throttling_retry_cost
          : kind == FailureKind::kTimeout  ? config_.timeout_retry_cost
                                           : config_.retry_cost;
  std::lock_guard<std::mutex> lock(mu_);
  if (c > available_) return false;
  available_ -= c;
  *cost = c;
  return true;
}

void RetryQuota::Release(int retry_cost) {
  std::lock_guard<std::mutex> lock(mu_);
  available_ += retry_cost > 0 ? retry_cost : config_.success_refill;
  available_ = std::min(available_, config_.initial_quota);
}

RetryState::RetryState(const RetryConfig& config, RetryQuota* quota,
                       std::function<double()> random01)
    : config_(config), quota_(quota), random01_(std::move(random01)) {}

RetryDecision RetryState::OnFailure(int attempt, FailureKind kind, int64_t retry_after_ms,
                                    int64_t now_ms, int64_t deadline_ms) {
  RetryDecision decision;
  if (kind == FailureKind::kPermanent) {
    decision.reason = StopReason::kNotRetryable;
    return decision;
  }
  if (attempt >= config_.max_attempts) {
    decision.reason = StopReason::kMaxAttempts;
    return decision;
  }
  int64_t delay = BackoffDelayMs(config_, kind, attempt, random01_(), retry_after_ms);
  // The next attempt would start at now + delay; it must start before the
  // deadline, and the sleep must not run past it.
  if (deadline_ms > 0 && now_ms + delay >= deadline_ms) {
    decision.reason = StopReason::kDeadline;
    return decision;
  }
  int cost = 0;
  if (!quota_->Acquire(kind, &cost)) {
    decision.reason = StopReason::kQuota;
    return decision;
  }
  last_retry_cost_ = cost;
  decision.retry = true;
  decision.delay_ms = delay;
  return decision;
}

void RetryState::OnSuccess() { quota_->Release(last_retry_cost_); }

}  // namespace ohfp::aws
