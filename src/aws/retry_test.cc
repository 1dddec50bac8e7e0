#include "aws/retry.h"

#include <gtest/gtest.h>

namespace ohfp::aws {
namespace {

TEST(RetryTest, ClassifiesFailures) {
  EXPECT_EQ(ClassifyFailure("connect", 0, ""), FailureKind::kTransient);
  EXPECT_EQ(ClassifyFailure("io", 0, ""), FailureKind::kTransient);
  EXPECT_EQ(ClassifyFailure("timeout", 0, ""), FailureKind::kTimeout);
  for (int status : {500, 502, 503, 504}) {
    EXPECT_EQ(ClassifyFailure("", status, "InternalError"), FailureKind::kTransient) << status;
  }
  EXPECT_EQ(ClassifyFailure("", 501, "NotImplemented"), FailureKind::kPermanent);
  EXPECT_EQ(ClassifyFailure("", 400, "RequestLimitExceeded"), FailureKind::kThrottling);
  EXPECT_EQ(ClassifyFailure("", 400, "Throttling"), FailureKind::kThrottling);
  EXPECT_EQ(ClassifyFailure("", 400, "ProvisionedThroughputExceededException"),
            FailureKind::kThrottling);
  EXPECT_EQ(ClassifyFailure("", 429, "HttpError429"), FailureKind::kThrottling);
  EXPECT_EQ(ClassifyFailure("", 400, "RequestTimeout"), FailureKind::kTransient);
  EXPECT_EQ(ClassifyFailure("", 400, "PriorRequestNotComplete"), FailureKind::kTransient);
  EXPECT_EQ(ClassifyFailure("", 400, "IDPCommunicationError"), FailureKind::kTransient);
  for (const char* code :
       {"ConditionalCheckFailedException", "ValidationError", "InvalidParameterValue",
        "UnauthorizedOperation", "InsufficientInstanceCapacity", "InvalidInstanceID.NotFound",
        "AuthFailure"}) {
    EXPECT_EQ(ClassifyFailure("", 400, code), FailureKind::kPermanent) << code;
  }
}

TEST(RetryTest, FullJitterBackoffGrowsAndIsCapped) {
  RetryConfig config;
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kTransient, 1, 0.5), 25);
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kTransient, 2, 0.5), 50);
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kTransient, 3, 0.5), 100);
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kThrottling, 1, 0.5), 500);
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kThrottling, 2, 0.99), 1980);
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kThrottling, 40, 0.5), 10000);
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kThrottling, 3, 0.0), 0);
  config.throttling_base_ms = 10;
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kThrottling, 2, 1.0), 20);
}

TEST(RetryTest, RetryAfterIsHonouredWithinLimits) {
  RetryConfig config;
  // Computed 25 ms; the server's wish wins up to 5 s more.
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kTransient, 1, 0.5, 1200), 1200);
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kTransient, 1, 0.5, 60000), 5025);
  EXPECT_EQ(BackoffDelayMs(config, FailureKind::kTransient, 1, 0.5, 0), 25);
}

TEST(RetryTest, QuotaChargesByKindAndRefills) {
  RetryConfig config;
  config.initial_quota = 20;
  RetryQuota quota(config);
  int cost = 0;
  EXPECT_TRUE(quota.Acquire(FailureKind::kTransient, &cost));
  EXPECT_EQ(cost, 14);
  EXPECT_EQ(quota.available(), 6);
  EXPECT_FALSE(quota.Acquire(FailureKind::kTimeout, &cost));  // 10 > 6
  EXPECT_EQ(quota.available(), 6);
  EXPECT_TRUE(quota.Acquire(FailureKind::kThrottling, &cost));
  EXPECT_EQ(cost, 5);
  EXPECT_EQ(quota.available(), 1);
  quota.Release(5);
  EXPECT_EQ(quota.available(), 6);
  quota.Release(0);
  EXPECT_EQ(quota.available(), 7);
  quota.Release(100);
  EXPECT_EQ(quota.available(), 20);  // never above the start
}

TEST(RetryTest, StateStopsForPermanentErrorsAndAtMaxAttempts) {
  RetryConfig config;
  RetryQuota quota(config);
  RetryState state(config, &quota, [] { return 0.5; });
  RetryDecision d = state.OnFailure(1, FailureKind::kPermanent, -1, 0, 0);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.reason, StopReason::kNotRetryable);

  d = state.OnFailure(1, FailureKind::kThrottling, -1, 0, 0);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay_ms, 500);
  d = state.OnFailure(2, FailureKind::kThrottling, -1, 0, 0);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay_ms, 1000);
  d = state.OnFailure(3, FailureKind::kThrottling, -1, 0, 0);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.reason, StopReason::kMaxAttempts);
  EXPECT_EQ(quota.available(), 490);
  state.OnSuccess();
  EXPECT_EQ(quota.available(), 495);
}

TEST(RetryTest, NoSleepReachesTheDeadline) {
  RetryConfig config;
  RetryQuota quota(config);
  RetryState state(config, &quota, [] { return 0.5; });
  // 500 ms of backoff from t=1000 ends at 1500.
  EXPECT_TRUE(state.OnFailure(1, FailureKind::kThrottling, -1, 1000, 1501).retry);
  RetryDecision d = state.OnFailure(1, FailureKind::kThrottling, -1, 1000, 1500);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.reason, StopReason::kDeadline);
  // A deadline refusal takes nothing from the quota.
  EXPECT_EQ(quota.available(), 495);
}

TEST(RetryTest, EmptyQuotaStopsRetries) {
  RetryConfig config;
  config.initial_quota = 4;
  RetryQuota quota(config);
  RetryState state(config, &quota, [] { return 0.0; });
  RetryDecision d = state.OnFailure(1, FailureKind::kTransient, -1, 0, 0);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.reason, StopReason::kQuota);
}

}  // namespace
}  // namespace ohfp::aws
