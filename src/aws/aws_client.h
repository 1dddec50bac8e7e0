// A small AWS client: signs (SigV4), sends, retries (standard mode, bounded by
// one deadline) and decodes errors for the Query/XML protocols (EC2, Auto
// Scaling, STS, IAM) and the JSON protocols (SSM 1.1, DynamoDB 1.0).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/http_transport.h"
#include "aws/retry.h"
#include "core/clock.h"
#include "core/status.h"

namespace ohfp::aws {

/// Form parameters in the order given ("Action" and "Version" are added by
/// the client).
using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // "" for long-term keys
  int64_t expiration = 0;     // epoch seconds, 0 = does not expire
};

/// Supplies credentials (the chain lives in credentials.h).
class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  virtual Result<Credentials> Get() = 0;
};

struct ClientOptions {
  std::string region;  // required; also the signing region
  /// Explicit endpoint for every service ("" = environment/profile/default).
  std::string endpoint_url;
  int64_t connect_timeout_ms = 10000;
  int64_t request_timeout_ms = 30000;  // per attempt
  int max_attempts = 3;                // standard retry mode: first try + 2 retries
  /// Absolute deadline on the clock's monotonic scale (0 = none). No attempt
  /// starts, and no backoff sleeps, past it; the last error is returned.
  int64_t deadline_ms = 0;
};

/// Which failed attempts a call may repeat.
enum class RetryPolicy {
  /// Standard mode: every retryable failure.
  kStandard,
  /// Only failures after which AWS cannot have acted on the call: no
  /// connection, or an error answer below 500 (throttling). A broken or
  /// timed-out exchange, or a 5xx, may have carried out the call, so it is
  /// returned to the caller (details "retry_stop": "may_have_acted") to look
  /// before repeating it. For calls that create things, whose client token
  /// not every endpoint honours.
  kUnlessItMayHaveActed,
};

/// Statistics for `-d stats`-style reporting and the benchmark.
struct ClientStats {
  int64_t calls = 0;     // logical calls
  int64_t attempts = 0;  // HTTP exchanges, retries included
  int64_t retries = 0;
  int64_t http_micros = 0;  // time with at least one HttpTransport::Send under way
};

/// AWS errors come back as a Status (kProviderError) whose details hold
/// {"aws_code": "InvalidInstanceID.NotFound", "http_status": 400,
///  "aws_message": "...", "aws_request_id": "...", "action": "DescribeInstances",
///  "service": "ec2", "retryable": false, "attempts": N}.
/// Transport failures have details {"transport": "...", ...} instead of aws_code.
class AwsClient {
 public:
  /// `transport`, `credentials` and `clock` must outlive the client.
  AwsClient(ClientOptions options, HttpTransport* transport, CredentialsProvider* credentials,
            const Clock* clock, std::map<std::string, std::string> env = {});

  /// Query protocol: POSTs Action=…&Version=…&params (form-encoded the way
  /// botocore does) to `service` ("ec2", "autoscaling", "sts", "iam") and
  /// returns the XML body of a 2xx answer.
  Result<std::string> CallQuery(const std::string& service, const std::string& action,
                                const std::string& version, const QueryParams& params,
                                RetryPolicy policy = RetryPolicy::kStandard);

  /// JSON protocol: POSTs `body` with X-Amz-Target `target` ("AmazonSSM.GetParameter")
  /// and Content-Type application/x-amz-json-`json_version` ("1.1" or "1.0").
  Result<nlohmann::json> CallJson(const std::string& service, const std::string& target,
                                  const nlohmann::json& body, const std::string& json_version);

  /// The endpoint URL used for `service` (resolution of section 4.3).
  std::string EndpointFor(const std::string& service) const;

  ClientStats stats() const;
  const ClientOptions& options() const { return options_; }
  void set_deadline_ms(int64_t deadline_ms) { options_.deadline_ms = deadline_ms; }

  /// Replaces the sleep used between retries (tests).
  void set_sleep_for_testing(std::function<void(int64_t ms)> sleep) { sleep_ = std::move(sleep); }

  /// Replaces the source of backoff jitter, values in [0, 1) (tests).
  void set_random_for_testing(std::function<double()> random01) { random01_ = std::move(random01); }

  /// Replaces the retry constants (delays, costs, quota); its max_attempts
  /// replaces options().max_attempts. Resets the retry quota.
  void set_retry_config(const RetryConfig& config);
  const RetryConfig& retry_config() const { return retry_config_; }
  /// Retry tokens left in this client's quota.
  int retry_quota_available() const { return quota_.available(); }

 private:
  /// Signs and sends one logical call with retries; returns the 2xx answer.
  Result<HttpResponse> Call(const std::string& service, const std::string& action,
                            const Headers& extra_headers, const std::string& body,
                            RetryPolicy policy);
  /// Adds `amount` to one of the statistics.
  void Count(int64_t ClientStats::*field, int64_t amount);

  /// Mark an HTTP exchange's start and end, and return the time (µs). The
  /// statistics count the time some exchange is under way once, however
  /// many run side by side.
  int64_t ExchangeStarts();
  int64_t ExchangeEnds();

  /// The Status for a failed attempt (AWS error or transport failure).
  Status AttemptError(const std::string& service, const std::string& action,
                      const Result<HttpResponse>& response, FailureKind* kind,
                      int64_t* retry_after_ms) const;

  ClientOptions options_;
  HttpTransport* transport_;
  CredentialsProvider* credentials_;
  const Clock* clock_;
  std::map<std::string, std::string> env_;
  // Calls may run on several threads at once (Ec2Client sends the pages of
  // a large DescribeInstances side by side): mu_ guards the statistics and
  // the credentials provider, the retry quota guards itself, and the
  // transport must be safe to share (SocketTransport is).
  mutable std::mutex mu_;
  ClientStats stats_;
  int in_flight_ = 0;             // exchanges under way
  int64_t waiting_since_us_ = 0;  // when in_flight_ last rose from 0
  std::function<void(int64_t)> sleep_;
  std::function<double()> random01_;
  RetryConfig retry_config_;
  RetryQuota quota_;
};

}  // namespace ohfp::aws
