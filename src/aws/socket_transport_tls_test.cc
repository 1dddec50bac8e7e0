// SocketTransport over TLS, against moto_server serving https with a
// certificate made for the test: verified calls, refused certificates and
// names, and a CONNECT tunnel through a proxy.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/socket_transport.h"
#include "core/clock.h"
#include "devenv/moto.h"
#include "support/loopback.h"

namespace ohfp::aws {
namespace {

namespace fs = std::filesystem;

// A CONNECT proxy on loopback: it opens each tunnel to 127.0.0.1 (whatever
// host is asked) and copies bytes both ways. One connection at a time.
class TunnelProxy {
 public:
  TunnelProxy() {
    listen_fd_ = testing::ListenOnLoopback(4, &port_);
    EXPECT_GE(listen_fd_, 0) << std::strerror(errno);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TunnelProxy() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
  }
  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 20) > 0;
  }

  void Serve() {
    while (!stop_) {
      if (!Readable(listen_fd_)) continue;
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) Tunnel(client);
    }
  }

  void Tunnel(int client) {
    std::string head;
    char buf[16384];
    while (head.find("\r\n\r\n") == std::string::npos && !stop_) {
      if (!Readable(client)) continue;
      ssize_t n = read(client, buf, sizeof buf);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    std::string line = head.substr(0, head.find("\r\n"));
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(line);
    }
    int port = std::atoi(line.substr(line.rfind(':') + 1).c_str());
    int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (line.rfind("CONNECT ", 0) != 0 ||
        connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const char refusal[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
      (void)!write(client, refusal, sizeof refusal - 1);
    } else {
      const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
      (void)!write(client, ok, sizeof ok - 1);
      Copy(client, upstream);
    }
    close(upstream);
    close(client);
  }

  void Copy(int a, int b) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[16384];
    while (!stop_) {
      if (poll(fds, 2, 20) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0 || write(fds[1 - i].fd, buf, static_cast<size_t>(n)) != n) return;
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

class SocketTransportTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir_template[] = "/tmp/ohfp-tls-XXXXXX";
    dir_ = new std::string(mkdtemp(dir_template));
    // A self-signed certificate for 127.0.0.1 only (no DNS name), so that
    // "localhost" does not match it.
    std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -days 2 -subj /CN=ohfp-test -addext subjectAltName=IP:127.0.0.1 "
        "-keyout " +
        *dir_ + "/key.pem -out " + *dir_ + "/cert.pem 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    devenv::MotoOptions options;
    options.tls_certificate = *dir_ + "/cert.pem";
    options.tls_key = *dir_ + "/key.pem";
    options.log_path = *dir_ + "/moto.log";
    Result<std::unique_ptr<devenv::MotoServer>> moto = devenv::MotoServer::Start(options);
    ASSERT_TRUE(moto.ok()) << moto.status().ToString();
    moto_ = moto->release();
  }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (moto_ == nullptr) GTEST_SKIP() << "moto_server with TLS did not start";
  }

  static std::string CaBundle() { return *dir_ + "/cert.pem"; }

  static HttpRequest Probe(const std::string& base) {
    HttpRequest r;
    r.method = "GET";
    r.url = base + "/moto-api/data.json";
    r.timeout_ms = 10000;
    return r;
  }

  // DescribeRegions, signed with moto's checked key, through `transport`.
  static Result<std::string> SignedCall(HttpTransport* transport) {
    StaticCredentials credentials(moto_->credentials());
    SystemClock clock;
    ClientOptions options;
    options.region = moto_->region();
    options.endpoint_url = moto_->endpoint();
    options.max_attempts = 1;
    AwsClient client(options, transport, &credentials, &clock);
    return client.CallQuery("ec2", "DescribeRegions", "2016-11-15", {});
  }

  static std::string* dir_;
  static devenv::MotoServer* moto_;
};

std::string* SocketTransportTlsTest::dir_ = nullptr;
devenv::MotoServer* SocketTransportTlsTest::moto_ = nullptr;

TEST_F(SocketTransportTlsTest, SignedCallsGoOverAVerifiedConnection) {
  ASSERT_EQ(moto_->endpoint().rfind("https://", 0), 0u);
  SocketTransport transport(TransportOptions{{}, CaBundle()});
  Result<std::string> regions = SignedCall(&transport);
  ASSERT_TRUE(regions.ok()) << regions.status().ToString();
  EXPECT_NE(regions->find("us-east-1"), std::string::npos);
}

TEST_F(SocketTransportTlsTest, AnUntrustedCertificateIsRefused) {
  SocketTransport transport;  // the system's CAs, which never signed it
  Result<HttpResponse> answer = transport.Send(Probe(moto_->endpoint()));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().details()["transport"], "connect");
  EXPECT_NE(answer.status().message().find("certificate verification failed"), std::string::npos)
      << answer.status().message();
}

TEST_F(SocketTransportTlsTest, ACertificateForAnotherNameIsRefused) {
  SocketTransport transport(TransportOptions{{}, CaBundle()});
  Result<HttpResponse> answer =
      transport.Send(Probe("https://localhost:" + std::to_string(moto_->port())));
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.status().message().find("certificate verification failed"), std::string::npos)
      << answer.status().message();
}

TEST_F(SocketTransportTlsTest, AnUnreadableCaBundleIsAConfigurationError) {
  SocketTransport transport(TransportOptions{{}, *dir_ + "/no-such-bundle.pem"});
  Result<HttpResponse> answer = transport.Send(Probe(moto_->endpoint()));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), ErrorCode::kConfigurationError);
}

TEST_F(SocketTransportTlsTest, HttpsGoesThroughAProxyTunnel) {
  TunnelProxy proxy;
  ProxySettings settings{"127.0.0.1", proxy.port()};
  SocketTransport transport(TransportOptions{settings, CaBundle()});
  Result<std::string> first = SignedCall(&transport);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(SignedCall(&transport).ok());
  // Moto closes every connection after its answer: one tunnel per call.
  std::vector<std::string> requests = proxy.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const std::string& request : requests) {
    EXPECT_EQ(request, "CONNECT 127.0.0.1:" + std::to_string(moto_->port()) + " HTTP/1.1");
  }
}

}  // namespace
}  // namespace ohfp::aws
