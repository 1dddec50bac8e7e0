#include "aws/aws_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "aws/form.h"
#include "aws/sigv4.h"
#include "support/fake_transport.h"

namespace ohfp::aws {
namespace {

using testsupport::FakeTransport;
using testsupport::MakeResponse;
using testsupport::RequestHeader;

class TestClock : public Clock {
 public:
  int64_t NowSeconds() const override { return 1764547200 + mono_ms / 1000; }  // 2025-12-01
  int64_t MonotonicMillis() const override { return mono_ms; }
  int64_t mono_ms = 100000;
};

const char kSecret[] = "client-test-secret-key";
const char kToken[] = "client-test-session-token";

const char kThrottled[] =
    "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit "
    "exceeded.</Message></Error></Errors><RequestID>t-1</RequestID></Response>";

class AwsClientTest : public ::testing::Test {
 protected:
  AwsClientTest() : credentials_(Credentials{"AKIDTEST", kSecret, "", 0}) {
    options_.region = "us-west-2";
    options_.endpoint_url = "http://127.0.0.1:5123";
    // Every sleep moves the clock, as real time would.
    sleeper_ = [this](int64_t ms) {
      sleeps_.push_back(ms);
      clock_.mono_ms += ms;
    };
  }

  std::unique_ptr<AwsClient> MakeClient(std::map<std::string, std::string> env = {}) {
    auto client =
        std::make_unique<AwsClient>(options_, &transport_, &credentials_, &clock_, std::move(env));
    client->set_sleep_for_testing(sleeper_);
    client->set_random_for_testing([] { return 0.5; });
    return client;
  }

  ClientOptions options_;
  FakeTransport transport_;
  StaticCredentials credentials_;
  TestClock clock_;
  std::function<void(int64_t)> sleeper_;
  std::vector<int64_t> sleeps_;
};

// Recomputes the signature of a request the client sent.
std::string ExpectedAuthorization(const HttpRequest& sent, const Credentials& credentials,
                                  const std::string& region, const std::string& service) {
  Headers headers;
  for (const auto& h : sent.headers) {
    if (h.first != "Authorization") headers.push_back(h);
  }
  SigningInput input{sent.method, ParseUrl(sent.url)->path, "", headers, sent.body};
  return ComputeSignature(input, credentials, region, service).authorization;
}

TEST_F(AwsClientTest, QueryCallIsAFormPostSignedForTheService) {
  transport_.PushResponse(200, "<DescribeInstancesResponse/>");
  auto client = MakeClient();
  Result<std::string> body = client->CallQuery(
      "ec2", "DescribeInstances", "2016-11-15",
      {{"Filter.1.Name", "tag:a b"}, {"Filter.1.Value.1", "x y~z*/$\xC3\xA9+&="}});
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(*body, "<DescribeInstancesResponse/>");

  ASSERT_EQ(transport_.requests().size(), 1u);
  const HttpRequest& sent = transport_.requests()[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "http://127.0.0.1:5123/");
  EXPECT_EQ(sent.body,
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3Aa+b&"
            "Filter.1.Value.1=x+y~z%2A%2F%24%C3%A9%2B%26%3D");
  EXPECT_EQ(RequestHeader(sent, "Host"), "127.0.0.1:5123");
  EXPECT_EQ(RequestHeader(sent, "Content-Type"),
            "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(RequestHeader(sent, "X-Amz-Date"), FormatAmzDate(clock_.NowSeconds()));
  EXPECT_EQ(RequestHeader(sent, "X-Amz-Security-Token"), "");
  std::string authorization = RequestHeader(sent, "Authorization");
  EXPECT_NE(authorization.find("/us-west-2/ec2/aws4_request, SignedHeaders=content-type;host;"
                               "x-amz-date, Signature="),
            std::string::npos)
      << authorization;
  EXPECT_EQ(authorization, ExpectedAuthorization(sent, Credentials{"AKIDTEST", kSecret, "", 0},
                                                 "us-west-2", "ec2"));
  EXPECT_EQ(client->stats().calls, 1);
  EXPECT_EQ(client->stats().attempts, 1);
  EXPECT_EQ(client->stats().retries, 0);
}

TEST_F(AwsClientTest, JsonCallCarriesTargetAndSignsIt) {
  transport_.PushResponse(200, R"({"Parameter":{"Value":"ami-1"}})");
  credentials_ = StaticCredentials(Credentials{"ASIATEST", kSecret, kToken, 0});
  auto client = MakeClient();
  Result<nlohmann::json> answer = client->CallJson(
      "ssm", "AmazonSSM.GetParameter", {{"Name", "/aws/x"}, {"WithDecryption", false}}, "1.1");
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ((*answer)["Parameter"]["Value"], "ami-1");

  const HttpRequest& sent = transport_.requests()[0];
  EXPECT_EQ(RequestHeader(sent, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(RequestHeader(sent, "X-Amz-Target"), "AmazonSSM.GetParameter");
  EXPECT_EQ(RequestHeader(sent, "X-Amz-Security-Token"), kToken);
  EXPECT_EQ(nlohmann::json::parse(sent.body)["Name"], "/aws/x");
  std::string authorization = RequestHeader(sent, "Authorization");
  EXPECT_NE(authorization.find("SignedHeaders=content-type;host;x-amz-date;"
                               "x-amz-security-token;x-amz-target,"),
            std::string::npos)
      << authorization;
  EXPECT_EQ(authorization, ExpectedAuthorization(sent, Credentials{"ASIATEST", kSecret, kToken, 0},
                                                 "us-west-2", "ssm"));
}

TEST_F(AwsClientTest, EmptyJsonAnswerIsAnEmptyObjectAndMalformedIsAnError) {
  transport_.PushResponse(200, "");
  transport_.PushResponse(200, "{oops");
  auto client = MakeClient();
  Result<nlohmann::json> empty =
      client->CallJson("dynamodb", "DynamoDB_20120810.PutItem", nlohmann::json::object(), "1.0");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->is_object());
  EXPECT_EQ(RequestHeader(transport_.requests()[0], "Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(transport_.requests()[0].body, "{}");
  EXPECT_EQ(client->CallJson("dynamodb", "DynamoDB_20120810.PutItem", {}, "1.0").status().code(),
            ErrorCode::kProviderError);
}

TEST_F(AwsClientTest, AwsErrorsCarryTheirDetails) {
  transport_.PushResponse(400,
                          "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>"
                          "<Message>The instance ID 'i-1' does not exist</Message></Error>"
                          "</Errors><RequestID>req-42</RequestID></Response>");
  auto client = MakeClient();
  Result<std::string> r =
      client->CallQuery("ec2", "TerminateInstances", "2016-11-15", {{"InstanceId.1", "i-1"}});
  ASSERT_FALSE(r.ok());
  const Status& s = r.status();
  EXPECT_EQ(s.code(), ErrorCode::kProviderError);
  const nlohmann::json& d = s.details();
  EXPECT_EQ(d["aws_code"], "InvalidInstanceID.NotFound");
  EXPECT_EQ(d["http_status"], 400);
  EXPECT_EQ(d["aws_message"], "The instance ID 'i-1' does not exist");
  EXPECT_EQ(d["aws_request_id"], "req-42");
  EXPECT_EQ(d["action"], "TerminateInstances");
  EXPECT_EQ(d["service"], "ec2");
  EXPECT_EQ(d["retryable"], false);
  EXPECT_EQ(d["attempts"], 1);
  EXPECT_NE(s.message().find("InvalidInstanceID.NotFound"), std::string::npos);
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(AwsClientTest, JsonErrorsAreDecoded) {
  transport_.PushResponse(400, R"({"__type":"ParameterNotFound","message":"nope"})",
                          {{"x-amzn-requestid", "rid"}});
  auto client = MakeClient();
  Result<nlohmann::json> r = client->CallJson("ssm", "AmazonSSM.GetParameter", {}, "1.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().details()["aws_code"], "ParameterNotFound");
  EXPECT_EQ(r.status().details()["aws_request_id"], "rid");
  EXPECT_EQ(r.status().details()["action"], "GetParameter");
}

TEST_F(AwsClientTest, ServiceUnavailableThenSuccessIsOneRetry) {
  transport_.PushResponse(503, "");
  transport_.PushResponse(200, "<ok/>");
  auto client = MakeClient();
  Result<std::string> r = client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(client->stats().attempts, 2);
  EXPECT_EQ(client->stats().retries, 1);
  ASSERT_EQ(sleeps_.size(), 1u);
  EXPECT_EQ(sleeps_[0], 25);  // 0.5 × 50 ms
  EXPECT_EQ(RequestHeader(transport_.requests()[1], "amz-sdk-request"), "attempt=2; max=3");
  // The retry's 14 tokens came back with the success.
  EXPECT_EQ(client->retry_quota_available(), 500);
}

TEST_F(AwsClientTest, ThrottlingGivesUpAtMaxAttempts) {
  for (int i = 0; i < 5; ++i) transport_.PushResponse(400, kThrottled);
  auto client = MakeClient();
  Result<std::string> r = client->CallQuery("ec2", "RunInstances", "2016-11-15", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().details()["aws_code"], "RequestLimitExceeded");
  EXPECT_EQ(r.status().details()["retryable"], true);
  EXPECT_EQ(r.status().details()["attempts"], 3);
  EXPECT_EQ(r.status().details()["retry_stop"], "max_attempts");
  EXPECT_EQ(transport_.requests().size(), 3u);
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{500, 1000}));  // base 1 s for throttling
  EXPECT_EQ(client->stats().retries, 2);
  EXPECT_EQ(client->retry_quota_available(), 490);
}

TEST_F(AwsClientTest, MaxAttemptsAndConstantsAreConfigurable) {
  for (int i = 0; i < 6; ++i) transport_.PushResponse(400, kThrottled);
  options_.max_attempts = 5;
  auto client = MakeClient();
  RetryConfig config = client->retry_config();
  EXPECT_EQ(config.max_attempts, 5);
  config.throttling_base_ms = 10;
  client->set_retry_config(config);
  ASSERT_FALSE(client->CallQuery("ec2", "RunInstances", "2016-11-15", {}).ok());
  EXPECT_EQ(transport_.requests().size(), 5u);
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{5, 10, 20, 40}));
}

TEST_F(AwsClientTest, DeadlineStopsRetrying) {
  for (int i = 0; i < 3; ++i) transport_.PushResponse(400, kThrottled);
  options_.deadline_ms = clock_.mono_ms + 1200;
  auto client = MakeClient();
  Result<std::string> r = client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {});
  ASSERT_FALSE(r.ok());
  // First retry sleeps 500 ms; the second would sleep 1000 ms and end past
  // the deadline, so it never starts.
  EXPECT_EQ(transport_.requests().size(), 2u);
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{500}));
  EXPECT_EQ(r.status().details()["deadline_exceeded"], true);
  EXPECT_EQ(r.status().details()["aws_code"], "RequestLimitExceeded");
  EXPECT_EQ(r.status().details()["attempts"], 2);
}

TEST_F(AwsClientTest, AttemptTimeoutShrinksToTheDeadline) {
  transport_.PushResponse(200, "<ok/>");
  options_.request_timeout_ms = 30000;
  options_.connect_timeout_ms = 10000;
  options_.deadline_ms = clock_.mono_ms + 700;
  auto client = MakeClient();
  ASSERT_TRUE(client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {}).ok());
  EXPECT_EQ(transport_.requests()[0].timeout_ms, 700);
  EXPECT_EQ(transport_.requests()[0].connect_timeout_ms, 700);
}

TEST_F(AwsClientTest, PassedDeadlineSendsNothing) {
  options_.deadline_ms = clock_.mono_ms;
  auto client = MakeClient();
  Result<std::string> r = client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kProviderError);
  EXPECT_EQ(r.status().details()["deadline_exceeded"], true);
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(AwsClientTest, SlowAttemptsUseUpTheDeadline) {
  // Each attempt takes 2 s; the deadline is 3 s away: the second attempt
  // starts at +2.025 s, the third would start past +4 s.
  transport_.on_send = [this](const HttpRequest&) { clock_.mono_ms += 2000; };
  for (int i = 0; i < 3; ++i) transport_.PushResponse(503, "");
  options_.deadline_ms = clock_.mono_ms + 3000;
  auto client = MakeClient();
  Result<std::string> r = client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(transport_.requests().size(), 2u);
  EXPECT_EQ(transport_.requests()[1].timeout_ms, 3000 - 2025);
  EXPECT_EQ(r.status().details()["deadline_exceeded"], true);
  EXPECT_EQ(client->stats().http_micros, 4000 * 1000);
}

// Two calls from two threads, each answered once both are under way; the
// clock moves 100 ms while they overlap.
TEST(AwsClientConcurrencyTest, TimeWaitingOnAwsCountsOverlappingCallsOnce) {
  struct SharedClock : Clock {
    int64_t NowSeconds() const override { return 1764547200; }
    int64_t MonotonicMillis() const override { return mono_ms; }
    std::atomic<int64_t> mono_ms{100000};
  } clock;
  struct BothAtOnce : HttpTransport {
    Result<HttpResponse> Send(const HttpRequest&) override {
      std::unique_lock<std::mutex> lock(mu);
      if (++arrived == 2) {
        clock->mono_ms += 100;
        cv.notify_all();
      } else if (!cv.wait_for(lock, std::chrono::seconds(10), [this] { return arrived >= 2; })) {
        return MakeResponse(400,
                            "<Response><Errors><Error><Code>NotTogether</Code></Error>"
                            "</Errors></Response>");
      }
      return MakeResponse(200, "<DescribeInstancesResponse/>");
    }
    SharedClock* clock = nullptr;
    std::mutex mu;
    std::condition_variable cv;
    int arrived = 0;
  } transport;
  transport.clock = &clock;
  StaticCredentials credentials(Credentials{"AKIDTEST", kSecret, "", 0});
  ClientOptions options;
  options.region = "us-west-2";
  options.endpoint_url = "http://127.0.0.1:5123";
  AwsClient client(options, &transport, &credentials, &clock);

  Result<std::string> first = std::string();
  std::thread other(
      [&] { first = client.CallQuery("ec2", "DescribeInstances", "2016-11-15", {}); });
  Result<std::string> second = client.CallQuery("ec2", "DescribeInstances", "2016-11-15", {});
  other.join();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ClientStats stats = client.stats();
  EXPECT_EQ(stats.calls, 2);
  EXPECT_EQ(stats.attempts, 2);
  EXPECT_EQ(stats.http_micros, 100 * 1000);  // not 200 ms: the waits overlapped
}

TEST_F(AwsClientTest, HtmlServerErrorIsARetryableInternalError) {
  const char html[] =
      "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal "
      "Server Error</h1>";
  for (int i = 0; i < 3; ++i) transport_.PushResponse(500, html);
  auto client = MakeClient();
  Result<std::string> r = client->CallQuery("ec2", "ModifyFleet", "2016-11-15", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().details()["aws_code"], "InternalError");
  EXPECT_EQ(r.status().details()["http_status"], 500);
  EXPECT_EQ(r.status().details()["retryable"], true);
  EXPECT_EQ(transport_.requests().size(), 3u);
}

TEST_F(AwsClientTest, TransportFailuresAreRetriedAndReported) {
  transport_.PushTransportError("connect");
  transport_.PushTransportError("timeout");
  transport_.PushTransportError("io");
  auto client = MakeClient();
  Result<std::string> r = client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().details()["transport"], "io");
  EXPECT_FALSE(r.status().details().contains("aws_code"));
  EXPECT_EQ(r.status().details()["attempts"], 3);
  EXPECT_EQ(client->retry_quota_available(), 500 - 14 - 10);
}

TEST_F(AwsClientTest, CallThatMayHaveActedIsNotRepeatedUnderThatPolicy) {
  // Refused for sure (throttled, no connection): repeated.
  transport_.PushResponse(400, kThrottled);
  transport_.PushTransportError("connect");
  transport_.PushResponse(200, "<ok/>");
  auto client = MakeClient();
  auto policy = RetryPolicy::kUnlessItMayHaveActed;
  ASSERT_TRUE(client->CallQuery("ec2", "RunInstances", "2016-11-15", {}, policy).ok());
  EXPECT_EQ(transport_.requests().size(), 3u);

  // Reached AWS, answer lost or failed server-side: returned after one attempt.
  for (const char* kind : {"io", "timeout"}) {
    transport_.PushTransportError(kind);
    transport_.PushResponse(200, "<ok/>");  // what a repeat would get
    size_t before = transport_.requests().size();
    Result<std::string> r = client->CallQuery("ec2", "RunInstances", "2016-11-15", {}, policy);
    ASSERT_FALSE(r.ok()) << kind;
    EXPECT_EQ(transport_.requests().size(), before + 1) << kind;
    EXPECT_EQ(r.status().details()["retry_stop"], "may_have_acted");
    EXPECT_EQ(r.status().details()["transport"], kind);
    EXPECT_EQ(r.status().details()["retryable"], true);
    ASSERT_TRUE(client->CallQuery("ec2", "RunInstances", "2016-11-15", {}, policy).ok());
  }
  transport_.PushResponse(503, "");
  Result<std::string> r = client->CallQuery("ec2", "RunInstances", "2016-11-15", {}, policy);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().details()["http_status"], 503);
  EXPECT_EQ(r.status().details()["attempts"], 1);
}

TEST_F(AwsClientTest, RetryAfterHeaderIsHonoured) {
  transport_.PushResponse(503, "", {{"x-amz-retry-after", "1500"}});
  transport_.PushResponse(200, "<ok/>");
  auto client = MakeClient();
  ASSERT_TRUE(client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {}).ok());
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{1500}));
}

TEST_F(AwsClientTest, EmptyQuotaStopsRetriesAcrossCalls) {
  auto client = MakeClient();
  RetryConfig config = client->retry_config();
  config.initial_quota = 20;
  client->set_retry_config(config);
  transport_.set_handler([](const HttpRequest&) { return MakeResponse(503, ""); });
  ASSERT_FALSE(client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {}).ok());
  EXPECT_EQ(transport_.requests().size(), 2u);  // 14 of 20 paid one retry
  Result<std::string> r = client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(transport_.requests().size(), 3u);  // 6 left: no retry at all
  EXPECT_EQ(r.status().details()["retry_stop"], "retry_quota");
}

TEST_F(AwsClientTest, CredentialErrorsStopTheCall) {
  EnvironmentCredentials partial(Environment{{"AWS_ACCESS_KEY_ID", "AKID"}});
  AwsClient client(options_, &transport_, &partial, &clock_);
  Result<std::string> r = client.CallQuery("ec2", "DescribeInstances", "2016-11-15", {});
  EXPECT_EQ(r.status().code(), ErrorCode::kConfigurationError);
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(AwsClientTest, EndpointsComeFromTheEnvironmentWithoutAnExplicitOne) {
  options_.endpoint_url = "";
  transport_.set_handler([](const HttpRequest&) { return MakeResponse(200, "<ok/>"); });
  auto client = MakeClient({{"AWS_ENDPOINT_URL_AUTO_SCALING", "http://127.0.0.1:7001"},
                            {"AWS_ENDPOINT_URL", "http://127.0.0.1:7000"}});
  EXPECT_EQ(client->EndpointFor("autoscaling"), "http://127.0.0.1:7001/");
  EXPECT_EQ(client->EndpointFor("ec2"), "http://127.0.0.1:7000/");
  ASSERT_TRUE(client->CallQuery("autoscaling", "DescribeAutoScalingGroups", "2011-01-01", {}).ok());
  EXPECT_EQ(transport_.requests()[0].url, "http://127.0.0.1:7001/");
  EXPECT_NE(RequestHeader(transport_.requests()[0], "Authorization")
                .find("/us-west-2/autoscaling/aws4_request"),
            std::string::npos);

  auto defaults = MakeClient();
  EXPECT_EQ(defaults->EndpointFor("ec2"), "https://ec2.us-west-2.amazonaws.com/");
  EXPECT_EQ(defaults->EndpointFor("iam"), "https://iam.amazonaws.com/");
}

TEST_F(AwsClientTest, IamIsSignedInUsEast1) {
  transport_.PushResponse(200, "<ok/>");
  auto client = MakeClient();
  ASSERT_TRUE(client->CallQuery("iam", "GetUser", "2010-05-08", {}).ok());
  EXPECT_NE(
      RequestHeader(transport_.requests()[0], "Authorization").find("/us-east-1/iam/aws4_request"),
      std::string::npos);
}

TEST_F(AwsClientTest, NoSecretInErrors) {
  credentials_ = StaticCredentials(Credentials{"ASIATEST", kSecret, kToken, 0});
  transport_.PushResponse(401,
                          "<ErrorResponse><Errors><Error><Code>AuthFailure</Code><Message>AWS "
                          "was not able to validate the provided access credentials</Message>"
                          "</Error></Errors></ErrorResponse>");
  auto client = MakeClient();
  Result<std::string> r = client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {});
  ASSERT_FALSE(r.ok());
  std::string all = r.status().ToString() + r.status().details().dump();
  EXPECT_EQ(all.find(kSecret), std::string::npos);
  EXPECT_EQ(all.find(kToken), std::string::npos);
  EXPECT_EQ(r.status().details()["aws_code"], "AuthFailure");
  EXPECT_EQ(r.status().details()["http_status"], 401);
}

TEST_F(AwsClientTest, BadRegionIsAConfigurationError) {
  options_.region = "";
  auto client = MakeClient();
  EXPECT_EQ(client->CallQuery("ec2", "DescribeInstances", "2016-11-15", {}).status().code(),
            ErrorCode::kConfigurationError);
}

}  // namespace
}  // namespace ohfp::aws
