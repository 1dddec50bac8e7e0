// The fault proxy itself: each kind of fault reaches the AWS client as the
// failure it stands for, rules are counted, limited and seeded.
#include "support/fault_proxy.h"

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/curl_transport.h"
#include "core/clock.h"
#include "support/hostfactory_env.h"

namespace ohfp::testsupport {
namespace {

class FaultProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { moto_ = StartSharedMoto().release(); }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(moto_, nullptr) << "moto_server did not start";
    proxy_ = FaultProxy::Start(moto_->server->port(), 42);
    ASSERT_NE(proxy_, nullptr);
    credentials_ = std::make_unique<aws::StaticCredentials>(moto_->server->credentials());
    aws::ClientOptions options;
    options.region = moto_->server->region();
    options.endpoint_url = proxy_->endpoint();
    options.max_attempts = 1;  // each call shows the fault itself, not a retry
    options.request_timeout_ms = 1000;
    client_ = std::make_unique<aws::AwsClient>(options, &transport_, credentials_.get(), &clock_);
  }

  Result<std::string> DescribeInstances() {
    return client_->CallQuery("ec2", "DescribeInstances", "2016-11-15", {{"MaxResults", "5"}});
  }

  static std::string Detail(const Status& s, const char* key) {
    const auto& d = s.details();
    if (!d.contains(key)) return "";
    return d[key].is_string() ? d[key].get<std::string>() : d[key].dump();
  }

  static SharedMoto* moto_;
  std::unique_ptr<FaultProxy> proxy_;
  SystemClock clock_;
  aws::CurlTransport transport_;
  std::unique_ptr<aws::StaticCredentials> credentials_;
  std::unique_ptr<aws::AwsClient> client_;
};

SharedMoto* FaultProxyTest::moto_ = nullptr;

TEST_F(FaultProxyTest, PassesSignedCallsThroughAndCountsThem) {
  ASSERT_TRUE(DescribeInstances().ok());
  auto ssm = client_->CallJson("ssm", "AmazonSSM.GetParameter",
                               {{"Name",
                                 "/aws/service/ami-amazon-linux-latest/"
                                 "al2023-ami-kernel-6.1-x86_64"}},
                               "1.1");
  ASSERT_TRUE(ssm.ok()) << ssm.status().ToString();
  FaultCounts c = proxy_->counts();
  EXPECT_EQ(c.calls["DescribeInstances"], 1);
  EXPECT_EQ(c.calls["GetParameter"], 1);
  EXPECT_EQ(c.forwarded, 2);
  EXPECT_EQ(c.total_faults(), 0);
}

TEST_F(FaultProxyTest, EachFaultReachesTheClientAsTheFailureItStandsFor) {
  struct Case {
    FaultKind kind;
    std::string transport;  // expected details["transport"], "" for an HTTP answer
    std::string http_status;
    std::string aws_code;
    int64_t forwarded;  // whether upstream saw the call
  };
  const Case cases[] = {
      {FaultKind::kServerError, "", "500", "InternalError", 0},
      {FaultKind::kUnavailable, "", "503", "", 0},
      {FaultKind::kThrottle, "", "400", "RequestLimitExceeded", 0},
      {FaultKind::kResetBefore, "io", "", "", 0},
      {FaultKind::kResetAfter, "io", "", "", 1},
      {FaultKind::kHold, "timeout", "", "", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(FaultKindName(c.kind));
    proxy_->ClearRules();
    proxy_->ResetCounts();
    proxy_->AddRule(FaultRule().On({"DescribeInstances"}).Inject({c.kind}).FirstN(1));
    auto r = DescribeInstances();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(Detail(r.status(), "transport"), c.transport) << r.status().ToString();
    EXPECT_EQ(Detail(r.status(), "http_status"), c.http_status) << r.status().ToString();
    if (!c.aws_code.empty()) {
      EXPECT_EQ(Detail(r.status(), "aws_code"), c.aws_code);
    }
    if (c.http_status == "503") {
      EXPECT_EQ(Detail(r.status(), "retryable"), "true") << r.status().ToString();
    }
    EXPECT_EQ(proxy_->counts().forwarded, c.forwarded);
    EXPECT_EQ(proxy_->counts().faults[FaultKindName(c.kind)], 1);
    EXPECT_TRUE(DescribeInstances().ok()) << "first_n = 1 lets the next call through";
  }
}

TEST_F(FaultProxyTest, ThrottlingTakesTheShapeOfTheCalledProtocol) {
  proxy_->AddRule(FaultRule().Inject({FaultKind::kThrottle}));
  auto json = client_->CallJson("ssm", "AmazonSSM.GetParameter", {{"Name", "/x"}}, "1.1");
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(Detail(json.status(), "aws_code"), "ThrottlingException");
  auto query = client_->CallQuery("autoscaling", "DescribeAutoScalingGroups", "2011-01-01", {});
  ASSERT_FALSE(query.ok());
  EXPECT_EQ(Detail(query.status(), "aws_code"), "Throttling");
  EXPECT_EQ(proxy_->counts().forwarded, 0);
}

TEST_F(FaultProxyTest, DelayHoldsTheAnswerAndRewriteChangesIt) {
  proxy_->AddRule(FaultRule()
                      .On({"DescribeInstances"})
                      .Inject({FaultKind::kDelay})
                      .FirstN(1)
                      .DelayBetween(300, 300));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(DescribeInstances().ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));

  proxy_->AddRule(FaultRule()
                      .On({"DescribeRegions"})
                      .Inject({FaultKind::kRewrite})
                      .RewriteWith([](const ProxiedCall& call, const std::string& body) {
                        return "<rewritten action=\"" + call.action + "\" service=\"" +
                               call.service + "\" bytes=\"" + std::to_string(body.size()) + "\"/>";
                      }));
  auto rewritten = client_->CallQuery("ec2", "DescribeRegions", "2016-11-15", {});
  ASSERT_TRUE(rewritten.ok()) << rewritten.status().ToString();
  EXPECT_EQ(rewritten->find("<rewritten action=\"DescribeRegions\" service=\"ec2\""), 0u)
      << *rewritten;
}

TEST_F(FaultProxyTest, ProbabilityIsSeededAndFirstNLimitsInjections) {
  // Two proxies with the same seed fail the same calls of the same sequence.
  auto other = FaultProxy::Start(moto_->server->port(), 42);
  ASSERT_NE(other, nullptr);
  aws::ClientOptions options = client_->options();
  options.endpoint_url = other->endpoint();
  aws::AwsClient other_client(options, &transport_, credentials_.get(), &clock_);
  FaultRule half = FaultRule().Inject({FaultKind::kUnavailable}).WithProbability(0.5);
  proxy_->AddRule(half);
  other->AddRule(half);
  std::string pattern, other_pattern;
  for (int i = 0; i < 16; ++i) {
    pattern += DescribeInstances().ok() ? '.' : 'x';
    other_pattern +=
        other_client.CallQuery("ec2", "DescribeInstances", "2016-11-15", {}).ok() ? '.' : 'x';
  }
  EXPECT_EQ(pattern, other_pattern);
  EXPECT_NE(pattern.find('x'), std::string::npos) << pattern;
  EXPECT_NE(pattern.find('.'), std::string::npos) << pattern;

  proxy_->ClearRules();
  proxy_->ResetCounts();
  proxy_->AddRule(FaultRule().Inject({FaultKind::kServerError}).FirstN(2));
  int failed = 0;
  for (int i = 0; i < 5; ++i) failed += DescribeInstances().ok() ? 0 : 1;
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(proxy_->counts().calls["DescribeInstances"], 5);
  EXPECT_NE(proxy_->Report().find("http_500=2"), std::string::npos) << proxy_->Report();
}

}  // namespace
}  // namespace ohfp::testsupport
