// The fault proxy itself, in front of a stub upstream: each kind of fault
// reaches the AWS client as the failure it stands for, and rules are
// counted, limited and seeded. (The fault tests run it in front of moto.)
#include "support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/socket_transport.h"
#include "core/clock.h"

namespace ohfp::testsupport {
namespace {

// An upstream on a free loopback port that records each request and answers
// 200: "{}" to a JSON call, a small XML document to anything else.
class StubUpstream {
 public:
  StubUpstream() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
    thread_ = std::thread([this] { Loop(); });
  }
  ~StubUpstream() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }

  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Loop() {
    for (;;) {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string raw;
      char buf[8192];
      size_t head_end = std::string::npos;
      size_t length = 0;
      while (head_end == std::string::npos || raw.size() < head_end + 4 + length) {
        ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<size_t>(n));
        head_end = raw.find("\r\n\r\n");
        size_t at = raw.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) length = std::stoul(raw.substr(at + 16));
      }
      bool json = raw.find("X-Amz-Target:") != std::string::npos;
      std::string body = json ? "{}" : "<Response><answer>stub</answer></Response>";
      std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: " +
                           std::string(json ? "application/x-amz-json-1.1" : "text/xml") +
                           "\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\nConnection: close\r\n\r\n" + body;
      {
        // Recorded before the answer goes out, so a caller that has its
        // answer always finds its request here.
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(raw);
      }
      ::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(upstream_.port(), 0);
    proxy_ = FaultProxy::Start(upstream_.port(), 42);
    ASSERT_NE(proxy_, nullptr);
    client_ = NewClient(proxy_->endpoint());
  }

  std::unique_ptr<aws::AwsClient> NewClient(const std::string& endpoint) {
    aws::ClientOptions options;
    options.region = "us-east-1";
    options.endpoint_url = endpoint;
    options.max_attempts = 1;  // each call shows the fault itself, not a retry
    options.request_timeout_ms = 1000;
    return std::make_unique<aws::AwsClient>(options, &transport_, &credentials_, &clock_);
  }

  Result<std::string> DescribeInstances(aws::AwsClient* client = nullptr) {
    return (client ? client : client_.get())
        ->CallQuery("ec2", "DescribeInstances", "2016-11-15", {{"MaxResults", "5"}});
  }

  static std::string Detail(const Status& s, const char* key) {
    const auto& d = s.details();
    if (!d.contains(key)) return "";
    return d[key].is_string() ? d[key].get<std::string>() : d[key].dump();
  }

  StubUpstream upstream_;
  std::unique_ptr<FaultProxy> proxy_;
  SystemClock clock_;
  aws::SocketTransport transport_;
  aws::StaticCredentials credentials_{aws::Credentials{"AKIDTEST", "secret", "", 0}};
  std::unique_ptr<aws::AwsClient> client_;
};

TEST_F(FaultProxyTest, PassesCallsThroughUnchangedAndCountsThem) {
  ASSERT_TRUE(DescribeInstances().ok());
  auto ssm = client_->CallJson("ssm", "AmazonSSM.GetParameter", {{"Name", "/x"}}, "1.1");
  ASSERT_TRUE(ssm.ok()) << ssm.status().ToString();

  // The signature covers Host and the body, so both arrive as sent.
  std::vector<std::string> seen = upstream_.requests();
  ASSERT_EQ(seen.size(), 2u);
  std::string host = "Host: 127.0.0.1:" + std::to_string(proxy_->port()) + "\r\n";
  EXPECT_NE(seen[0].find(host), std::string::npos) << seen[0];
  EXPECT_NE(seen[0].find("Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/"),
            std::string::npos);
  EXPECT_NE(seen[0].find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(seen[0].substr(seen[0].find("\r\n\r\n") + 4),
            "Action=DescribeInstances&Version=2016-11-15&MaxResults=5");
  EXPECT_NE(seen[1].find("X-Amz-Target: AmazonSSM.GetParameter"), std::string::npos);
  EXPECT_EQ(seen[1].substr(seen[1].find("\r\n\r\n") + 4), R"({"Name":"/x"})");

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
  auto other = FaultProxy::Start(upstream_.port(), 42);
  ASSERT_NE(other, nullptr);
  auto other_client = NewClient(other->endpoint());
  FaultRule half = FaultRule().Inject({FaultKind::kUnavailable}).WithProbability(0.5);
  proxy_->AddRule(half);
  other->AddRule(half);
  std::string pattern, other_pattern;
  for (int i = 0; i < 16; ++i) {
    pattern += DescribeInstances().ok() ? '.' : 'x';
    other_pattern += DescribeInstances(other_client.get()).ok() ? '.' : 'x';
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
