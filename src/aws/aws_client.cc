#include "aws/aws_client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "aws/endpoints.h"
#include "aws/form.h"
#include "aws/sigv4.h"
#include "aws/xml.h"

namespace ohfp::aws {
namespace {

const char kUserAgent[] = "ohfp/0.1";

double DefaultRandom() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

void DefaultSleep(int64_t ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::string StopReasonText(StopReason reason) {
  switch (reason) {
    case StopReason::kMaxAttempts:
      return "max_attempts";
    case StopReason::kQuota:
      return "retry_quota";
    case StopReason::kDeadline:
      return "deadline";
    case StopReason::kNotRetryable:
      return "not_retryable";
    case StopReason::kNone:
      break;
  }
  return "";
}

// "AmazonSSM.GetParameter" -> "GetParameter".
std::string OperationOf(const std::string& target) {
  size_t dot = target.rfind('.');
  return dot == std::string::npos ? target : target.substr(dot + 1);
}

int64_t ParseRetryAfterMs(const std::string& value) {
  if (value.empty() || value.size() > 12) return -1;
  if (!std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return -1;
  }
  return std::stoll(value);
}

// Whether AWS may have carried out a call whose attempt ended this way: it
// got the request unless the connection never opened, and only an error
// answer below 500 says for sure that it refused.
bool MayHaveActed(const Result<HttpResponse>& response) {
  if (!response.ok()) return response.status().details().value("transport", "io") != "connect";
  return response->status >= 500;
}

}  // namespace

AwsClient::AwsClient(ClientOptions options, HttpTransport* transport,
                     CredentialsProvider* credentials, const Clock* clock,
                     std::map<std::string, std::string> env)
    : options_(std::move(options)),
      transport_(transport),
      credentials_(credentials),
      clock_(clock),
      env_(std::move(env)),
      sleep_(DefaultSleep),
      random01_(DefaultRandom),
      retry_config_(),
      quota_(retry_config_) {
  retry_config_.max_attempts = std::max(1, options_.max_attempts);
  options_.max_attempts = retry_config_.max_attempts;
}

void AwsClient::set_retry_config(const RetryConfig& config) {
  retry_config_ = config;
  retry_config_.max_attempts = std::max(1, retry_config_.max_attempts);
  options_.max_attempts = retry_config_.max_attempts;
  quota_.Reset(retry_config_);
}

ClientStats AwsClient::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void AwsClient::Count(int64_t ClientStats::*field, int64_t amount) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.*field += amount;
}

int64_t AwsClient::ExchangeStarts() {
  int64_t now = clock_->MonotonicMicros();
  std::lock_guard<std::mutex> lock(mu_);
  if (in_flight_++ == 0) waiting_since_us_ = now;
  return now;
}

int64_t AwsClient::ExchangeEnds() {
  int64_t now = clock_->MonotonicMicros();
  std::lock_guard<std::mutex> lock(mu_);
  if (--in_flight_ == 0) stats_.http_micros += now - waiting_since_us_;
  return now;
}

std::string AwsClient::EndpointFor(const std::string& service) const {
  Result<Endpoint> endpoint =
      ResolveEndpoint(service, options_.region, options_.endpoint_url, env_);
  return endpoint.ok() ? endpoint->url : "";
}

Result<std::string> AwsClient::CallQuery(const std::string& service, const std::string& action,
                                         const std::string& version, const QueryParams& params,
                                         RetryPolicy policy) {
  FormParams form;
  form.reserve(params.size() + 2);
  form.emplace_back("Action", action);
  form.emplace_back("Version", version);
  form.insert(form.end(), params.begin(), params.end());
  Headers headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  Result<HttpResponse> response = Call(service, action, headers, EncodeFormBody(form), policy);
  if (!response.ok()) return response.status();
  return std::move(response->body);
}

Result<nlohmann::json> AwsClient::CallJson(const std::string& service, const std::string& target,
                                           const nlohmann::json& body,
                                           const std::string& json_version) {
  std::string action = OperationOf(target);
  Headers headers = {{"Content-Type", "application/x-amz-json-" + json_version},
                     {"X-Amz-Target", target}};
  std::string payload = body.is_null() ? "{}" : body.dump();
  Result<HttpResponse> response = Call(service, action, headers, payload, RetryPolicy::kStandard);
  if (!response.ok()) return response.status();
  if (response->body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return nlohmann::json::object();
  }
  nlohmann::json parsed =
      nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Status::Error(ErrorCode::kProviderError,
                         service + " " + action + " returned malformed JSON",
                         {{"service", service}, {"action", action}});
  }
  return parsed;
}

Status AwsClient::AttemptError(const std::string& service, const std::string& action,
                               const Result<HttpResponse>& response, FailureKind* kind,
                               int64_t* retry_after_ms) const {
  nlohmann::json details = {{"service", service}, {"action", action}};
  *retry_after_ms = -1;
  if (!response.ok()) {
    std::string transport = response.status().details().value("transport", "io");
    details["transport"] = transport;
    *kind = ClassifyFailure(transport, 0, "");
    return Status::Error(ErrorCode::kProviderError,
                         service + " " + action + " failed: " + response.status().message(),
                         details);
  }

  AwsError error = DecodeError(*response);
  *kind = ClassifyFailure("", response->status, error.code);
  *retry_after_ms = ParseRetryAfterMs(response->Header("x-amz-retry-after"));
  details["aws_code"] = error.code;
  details["http_status"] = response->status;
  details["aws_message"] = error.message;
  details["aws_request_id"] = error.request_id;
  std::string message = service + " " + action + " failed: " + error.code;
  if (!error.message.empty()) message += ": " + error.message;
  message += " (HTTP " + std::to_string(response->status) + ")";
  return Status::Error(ErrorCode::kProviderError, message, details);
}

Result<HttpResponse> AwsClient::Call(const std::string& service, const std::string& action,
                                     const Headers& extra_headers, const std::string& body,
                                     RetryPolicy policy) {
  Count(&ClientStats::calls, 1);
  Result<Endpoint> endpoint =
      ResolveEndpoint(service, options_.region, options_.endpoint_url, env_);
  if (!endpoint.ok()) return endpoint.status();
  Result<Url> url = ParseUrl(endpoint->url);
  if (!url.ok()) return url.status();
  std::string host = HostHeader(*url);

  RetryState retry(retry_config_, &quota_, random01_);
  Status last_error;
  for (int attempt = 1;; ++attempt) {
    int64_t now = clock_->MonotonicMillis();
    int64_t deadline = options_.deadline_ms;
    if (deadline > 0 && now >= deadline) {
      // Retries that would start late are refused before their sleep, so
      // this is the first attempt, or a sleep that overran.
      Status s =
          last_error.ok()
              ? Status::Error(ErrorCode::kProviderError,
                              service + " " + action + " not sent: the deadline has already passed",
                              {{"service", service}, {"action", action}})
              : last_error;
      s.mutable_details()["deadline_exceeded"] = true;
      s.mutable_details()["attempts"] = attempt - 1;
      if (!last_error.ok()) s.mutable_details()["retry_stop"] = "deadline";
      return s;
    }

    Result<Credentials> credentials = [&] {
      std::lock_guard<std::mutex> lock(mu_);
      return credentials_->Get();
    }();
    if (!credentials.ok()) return credentials.status();

    HttpRequest request;
    request.method = "POST";
    request.url = endpoint->url;
    request.body = body;
    request.timeout_ms = options_.request_timeout_ms;
    if (deadline > 0) request.timeout_ms = std::min(request.timeout_ms, deadline - now);
    request.connect_timeout_ms = std::min(options_.connect_timeout_ms, request.timeout_ms);
    request.headers.emplace_back("Host", host);
    request.headers.insert(request.headers.end(), extra_headers.begin(), extra_headers.end());
    request.headers.emplace_back("User-Agent", kUserAgent);
    request.headers.emplace_back("amz-sdk-request",
                                 "attempt=" + std::to_string(attempt) +
                                     "; max=" + std::to_string(retry_config_.max_attempts));
    Status signed_ok = SignRequest(&request, *credentials, endpoint->signing_region,
                                   endpoint->signing_name, clock_->NowSeconds());
    if (!signed_ok.ok()) {
      return Status::Error(ErrorCode::kConfigurationError,
                           "cannot sign " + service + " " + action + ": " + signed_ok.message());
    }

    Count(&ClientStats::attempts, 1);
    spdlog::trace("aws {} {} attempt {}: {} ({} bytes)", service, action, attempt,
                  HeadersForLog(request.headers), request.body.size());
    int64_t started = ExchangeStarts();
    Result<HttpResponse> response = transport_->Send(request);
    int64_t took = (ExchangeEnds() - started) / 1000;

    if (response.ok() && response->status >= 200 && response->status < 300) {
      spdlog::debug("aws {} {} attempt {}: HTTP {} in {} ms", service, action, attempt,
                    response->status, took);
      retry.OnSuccess();
      return response;
    }

    FailureKind kind = FailureKind::kPermanent;
    int64_t retry_after_ms = -1;
    last_error = AttemptError(service, action, response, &kind, &retry_after_ms);
    spdlog::debug("aws {} {} attempt {} in {} ms: {}", service, action, attempt, took,
                  last_error.message());
    if (policy == RetryPolicy::kUnlessItMayHaveActed && MayHaveActed(response)) {
      nlohmann::json& details = last_error.mutable_details();
      details["retryable"] = kind != FailureKind::kPermanent;
      details["attempts"] = attempt;
      details["retry_stop"] = "may_have_acted";
      return last_error;
    }
    RetryDecision decision =
        retry.OnFailure(attempt, kind, retry_after_ms, clock_->MonotonicMillis(), deadline);
    if (!decision.retry) {
      nlohmann::json& details = last_error.mutable_details();
      details["retryable"] = kind != FailureKind::kPermanent;
      details["attempts"] = attempt;
      if (decision.reason != StopReason::kNotRetryable) {
        details["retry_stop"] = StopReasonText(decision.reason);
      }
      if (decision.reason == StopReason::kDeadline) details["deadline_exceeded"] = true;
      return last_error;
    }
    Count(&ClientStats::retries, 1);
    sleep_(decision.delay_ms);
  }
}

}  // namespace ohfp::aws
