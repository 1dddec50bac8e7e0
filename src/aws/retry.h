// The standard retry mode of the AWS SDKs (with the 2026 revision of its
// delays and costs): which failures are retried, how long to wait, a retry
// quota that acts as a circuit breaker, and one deadline over everything.
// Pure logic: time and randomness come from the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace ohfp::aws {

struct RetryConfig {
  int max_attempts = 3;               // first try included
  int64_t throttling_base_ms = 1000;  // backoff base after a throttling error
  int64_t transient_base_ms = 50;     // backoff base after any other retryable error
  int64_t max_backoff_ms = 20000;
  int64_t retry_after_max_extra_ms = 5000;  // x-amz-retry-after is honoured up to this above
  int initial_quota = 500;
  int retry_cost = 14;
  int throttling_retry_cost = 5;
  int timeout_retry_cost = 10;
  int success_refill = 1;  // given back by a success that needed no retry
};

enum class FailureKind {
  kPermanent,   // not retried (validation, not found, auth...)
  kTransient,   // no connection, a broken exchange, 5xx, RequestTimeout...
  kTimeout,     // no complete answer in time
  kThrottling,  // RequestLimitExceeded, Throttling, HTTP 429...
};

/// Whether `aws_code` is one of the SDKs' throttling error codes.
bool IsThrottlingCode(const std::string& aws_code);

/// Classifies a failed attempt from its transport kind ("connect", "timeout",
/// "io", or "" when an HTTP answer came), HTTP status and AWS error code.
FailureKind ClassifyFailure(const std::string& transport, int http_status,
                            const std::string& aws_code);

/// Full-jitter backoff after failed attempt number `attempt` (1-based):
/// random01 × min(2^(attempt−1) × base, max_backoff_ms), base by `kind`;
/// with `retry_after_ms` ≥ 0 the result is that value clamped to
/// [computed, computed + retry_after_max_extra_ms].
int64_t BackoffDelayMs(const RetryConfig& config, FailureKind kind, int attempt, double random01,
                       int64_t retry_after_ms = -1);

/// The token bucket that limits retries per client.
class RetryQuota {
 public:
  explicit RetryQuota(const RetryConfig& config);

  /// Takes the cost of one retry after a `kind` failure; false (and nothing
  /// taken) when the bucket cannot pay.
  bool Acquire(FailureKind kind, int* cost);
  /// Returns `retry_cost` after a success that needed retries, or the
  /// success refill when `retry_cost` is 0; never above the initial level.
  void Release(int retry_cost);

  int available() const;
  /// Starts over with `config` and a full bucket.
  void Reset(const RetryConfig& config);

 private:
  RetryConfig config_;
  mutable std::mutex mu_;  // the client's calls may run on several threads
  int available_;
};

/// Why a failed call stops retrying.
enum class StopReason { kNone, kNotRetryable, kMaxAttempts, kQuota, kDeadline };

struct RetryDecision {
  bool retry = false;
  int64_t delay_ms = 0;
  StopReason reason = StopReason::kNone;
};

/// The retry state of one logical call.
class RetryState {
 public:
  /// `quota` (shared by the client's calls) must outlive this; `random01`
  /// returns values in [0, 1).
  RetryState(const RetryConfig& config, RetryQuota* quota, std::function<double()> random01);

  /// Decides after failed attempt number `attempt` (1-based). A retry is
  /// refused when the failure is permanent, attempts are used up, waiting
  /// would reach `deadline_ms` (monotonic, 0 = none) from `now_ms`, or the
  /// quota cannot pay.
  RetryDecision OnFailure(int attempt, FailureKind kind, int64_t retry_after_ms, int64_t now_ms,
                          int64_t deadline_ms);

  /// Records success: refills the quota.
  void OnSuccess();

 private:
  const RetryConfig& config_;
  RetryQuota* quota_;
  std::function<double()> random01_;
  int last_retry_cost_ = 0;
};

}  // namespace ohfp::aws
