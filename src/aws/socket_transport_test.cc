#include "aws/socket_transport.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "devenv/moto.h"
#include "support/loopback.h"

namespace ohfp::aws {
namespace {

// A loopback HTTP/1.1 server that echoes what it received and keeps
// connections open, so that reuse is visible; each connection is served by
// a thread of its own.
class EchoServer {
 public:
  /// `drop_second`: a connection's second request is read and then the
  /// connection closed unanswered, as when a server's idle timeout races a
  /// client reusing the connection.
  explicit EchoServer(bool drop_second = false) : drop_second_(drop_second) {
    signal(SIGPIPE, SIG_IGN);
    listen_fd_ = testing::ListenOnLoopback(8, &port_);
    EXPECT_GE(listen_fd_, 0) << std::strerror(errno);
    thread_ = std::thread([this] { Serve(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    for (std::thread& t : connections_) t.join();
    close(listen_fd_);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  /// The client port of each request, in order.
  std::vector<int> ports() {
    std::lock_guard<std::mutex> lock(mu_);
    return ports_;
  }

 private:
  // Waits for `fd` to become readable; false when stopping.
  bool WaitReadable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void Serve() {
    while (WaitReadable(listen_fd_)) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (fd < 0) continue;
      connections_.emplace_back([this, fd, port = ntohs(peer.sin_port)] {
        int served = 0;
        while (HandleOne(fd, port, ++served)) {
        }
        close(fd);
      });
    }
  }

  // Reads one request and answers it; false when the connection is done.
  bool HandleOne(int fd, int peer_port, int nth) {
    std::string data;
    size_t header_end;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      char buf[4096];
      if (!WaitReadable(fd)) return false;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return false;
      data.append(buf, n);
    }
    std::istringstream head(data.substr(0, header_end));
    std::string line, method, path;
    std::getline(head, line);
    std::istringstream(line) >> method >> path;
    std::map<std::string, std::string> headers;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    size_t length = headers.count("content-length") ? std::stoul(headers["content-length"]) : 0;
    std::string body = data.substr(header_end + 4);
    while (body.size() < length) {
      char buf[4096];
      if (!WaitReadable(fd)) return false;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return false;
      body.append(buf, n);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ports_.push_back(peer_port);
    }
    if (drop_second_ && nth == 2) return false;
    if (path == "/hangup") return false;
    if (path == "/slow") std::this_thread::sleep_for(std::chrono::milliseconds(600));
    if (path == "/together") {
      // Answered once two such requests are under way at the same time.
      std::unique_lock<std::mutex> lock(mu_);
      ++together_;
      together_cv_.notify_all();
      if (!together_cv_.wait_for(lock, std::chrono::seconds(10),
                                 [this] { return together_ >= 2; })) {
        path = "/teapot";
      }
    }
    if (path == "/chunked") {
      std::string answer =
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
      return write(fd, answer.data(), answer.size()) == static_cast<ssize_t>(answer.size());
    }
    if (path == "/until-close") {
      std::string answer = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it";
      (void)!write(fd, answer.data(), answer.size());
      return false;
    }

    auto header = [&headers](const char* name) {
      return headers.count(name) ? headers[name] : std::string("<none>");
    };
    std::string answer = std::string("HTTP/1.1 ") + (path == "/teapot" ? "418 Teapot" : "200 OK") +
                         "\r\nX-Echo-Method: " + method + "\r\nX-Echo-Target: " + path +
                         "\r\nX-Echo-Host: " + header("host") +
                         "\r\nX-Echo-Custom: " + header("x-custom") +
                         "\r\nX-Echo-Content-Type: " + header("content-type") +
                         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return write(fd, answer.data(), answer.size()) == static_cast<ssize_t>(answer.size());
  }

  bool drop_second_ = false;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> connections_;  // touched by thread_ only, then joined
  std::mutex mu_;
  std::condition_variable together_cv_;
  int together_ = 0;
  std::vector<int> ports_;
};

HttpRequest Request(const std::string& method, const std::string& url, const std::string& host) {
  HttpRequest r;
  r.method = method;
  r.url = url;
  r.headers = {{"Host", host}};
  r.timeout_ms = 5000;
  r.connect_timeout_ms = 2000;
  return r;
}

TEST(SocketTransportTest, SendsExactlyWhatItIsGivenAndLowercasesHeaders) {
  EchoServer server;
  SocketTransport transport;
  HttpRequest r = Request("POST", server.url("/"), "example.test:1234");
  r.headers.emplace_back("X-Custom", "v1");
  r.headers.emplace_back("Content-Type", "application/x-amz-json-1.0");
  r.body = "{\"a\":1}";
  Result<HttpResponse> answer = transport.Send(r);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "{\"a\":1}");
  EXPECT_EQ(answer->Header("x-echo-method"), "POST");
  EXPECT_EQ(answer->Header("x-echo-host"), "example.test:1234");
  EXPECT_EQ(answer->Header("x-echo-custom"), "v1");
  EXPECT_EQ(answer->Header("x-echo-content-type"), "application/x-amz-json-1.0");
  EXPECT_EQ(answer->Header("X-Echo-Method"), "");  // names are lower case
}

TEST(SocketTransportTest, PutWithoutBodyAddsNoContentType) {
  EchoServer server;
  SocketTransport transport;
  HttpRequest r = Request("PUT", server.url("/latest/api/token"), "127.0.0.1");
  Result<HttpResponse> answer = transport.Send(r);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->Header("x-echo-method"), "PUT");
  EXPECT_EQ(answer->Header("x-echo-content-type"), "<none>");
}

TEST(SocketTransportTest, HttpErrorsAreAnswersNotFailures) {
  EchoServer server;
  SocketTransport transport;
  Result<HttpResponse> answer = transport.Send(Request("GET", server.url("/teapot"), "h"));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status, 418);
}

TEST(SocketTransportTest, ReusesTheConnection) {
  EchoServer server;
  SocketTransport transport;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(transport.Send(Request("GET", server.url("/x"), "127.0.0.1")).ok());
  }
  ASSERT_EQ(server.ports().size(), 3u);
  EXPECT_EQ(server.ports()[0], server.ports()[1]);
  EXPECT_EQ(server.ports()[1], server.ports()[2]);
}

TEST(SocketTransportTest, SendsFromSeveralThreadsAtOnceAndKeepsEachConnection) {
  EchoServer server;
  SocketTransport transport;
  // The server answers "/together" only while two are under way at once,
  // so this passes only if the second Send does not wait for the first.
  Result<HttpResponse> first = HttpResponse{};
  std::thread other(
      [&] { first = transport.Send(Request("GET", server.url("/together"), "127.0.0.1")); });
  Result<HttpResponse> second =
      transport.Send(Request("GET", server.url("/together"), "127.0.0.1"));
  other.join();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 200);

  // Both connections were kept: two more calls at once reuse them.
  std::thread again([&] { first = transport.Send(Request("GET", server.url("/x"), "127.0.0.1")); });
  second = transport.Send(Request("GET", server.url("/x"), "127.0.0.1"));
  again.join();
  ASSERT_TRUE(first.ok() && second.ok());
  std::vector<int> ports = server.ports();
  ASSERT_EQ(ports.size(), 4u);
  EXPECT_NE(ports[0], ports[1]);
  EXPECT_EQ(std::set<int>(ports.begin(), ports.end()).size(), 2u);
}

TEST(SocketTransportTest, RefusedConnectionIsAConnectFailure) {
  int port = devenv::FreeLoopbackPort();
  SocketTransport transport;
  Result<HttpResponse> answer =
      transport.Send(Request("GET", "http://127.0.0.1:" + std::to_string(port) + "/", "127.0.0.1"));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), ErrorCode::kProviderError);
  EXPECT_EQ(answer.status().details()["transport"], "connect");
}

TEST(SocketTransportTest, SlowAnswerIsATimeout) {
  EchoServer server;
  SocketTransport transport;
  HttpRequest r = Request("GET", server.url("/slow"), "127.0.0.1");
  r.timeout_ms = 150;
  Result<HttpResponse> answer = transport.Send(r);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().details()["transport"], "timeout");
  // The handle is still usable afterwards.
  EXPECT_TRUE(transport.Send(Request("GET", server.url("/x"), "127.0.0.1")).ok());
}

TEST(SocketTransportTest, ProxySettingsAreUsed) {
  EchoServer server;
  ProxySettings proxy;
  proxy.host = "127.0.0.1";
  proxy.port = devenv::FreeLoopbackPort();  // nobody listens: only the proxy is tried
  SocketTransport proxied(TransportOptions{proxy, ""});
  Result<HttpResponse> answer = proxied.Send(Request("GET", server.url("/x"), "127.0.0.1"));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().details()["transport"], "connect");
  EXPECT_TRUE(server.ports().empty());
}

TEST(SocketTransportTest, ReadsChunkedAnswers) {
  EchoServer server;
  SocketTransport transport;
  Result<HttpResponse> answer = transport.Send(Request("GET", server.url("/chunked"), "h"));
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->body, "hello 0123456789");
  // The connection stays usable after a chunked answer.
  EXPECT_TRUE(transport.Send(Request("GET", server.url("/x"), "h")).ok());
  ASSERT_EQ(server.ports().size(), 2u);
  EXPECT_EQ(server.ports()[0], server.ports()[1]);
}

TEST(SocketTransportTest, ReadsAnAnswerThatEndsWithTheConnection) {
  EchoServer server;
  SocketTransport transport;
  Result<HttpResponse> answer = transport.Send(Request("GET", server.url("/until-close"), "h"));
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->body, "all of it");
  // Never reused: the next request gets a new connection.
  EXPECT_TRUE(transport.Send(Request("GET", server.url("/x"), "h")).ok());
  ASSERT_EQ(server.ports().size(), 2u);
  EXPECT_NE(server.ports()[0], server.ports()[1]);
}

TEST(SocketTransportTest, ReplacesAKeptConnectionTheServerDropped) {
  EchoServer server(/*drop_second=*/true);
  SocketTransport transport;
  ASSERT_TRUE(transport.Send(Request("GET", server.url("/a"), "h")).ok());
  Result<HttpResponse> answer = transport.Send(Request("GET", server.url("/b"), "h"));
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->Header("x-echo-target"), "/b");
  // /a, /b dropped unanswered on the same connection, /b again on a new one.
  std::vector<int> ports = server.ports();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0], ports[1]);
  EXPECT_NE(ports[1], ports[2]);
}

TEST(SocketTransportTest, ANewConnectionClosedUnansweredIsNotRetried) {
  EchoServer server;
  SocketTransport transport;
  Result<HttpResponse> answer = transport.Send(Request("POST", server.url("/hangup"), "h"));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().details()["transport"], "io");
  // The server may have acted on it: sending it again is the caller's call.
  EXPECT_EQ(server.ports().size(), 1u);
}

TEST(SocketTransportTest, ForwardsPlainHttpThroughAProxyWithTheWholeUrl) {
  EchoServer proxy;
  ProxySettings settings;
  settings.host = "127.0.0.1";
  settings.port = std::stoi(proxy.url("").substr(proxy.url("").rfind(':') + 1));
  SocketTransport transport(TransportOptions{settings, ""});
  Result<HttpResponse> answer = transport.Send(
      Request("GET", "http://ec2.example.test:8080/path?Action=X", "ec2.example.test:8080"));
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->Header("x-echo-target"), "http://ec2.example.test:8080/path?Action=X");
  EXPECT_EQ(answer->Header("x-echo-host"), "ec2.example.test:8080");
}

TEST(SocketTransportTest, AddsHostAndContentLengthOnlyWhenMissing) {
  EchoServer server;
  SocketTransport transport;
  HttpRequest r;
  r.method = "POST";
  r.url = server.url("/q?a=b");
  r.body = "xyz";
  Result<HttpResponse> answer = transport.Send(r);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->Header("x-echo-host"), server.url("").substr(7));
  EXPECT_EQ(answer->Header("x-echo-target"), "/q?a=b");
  EXPECT_EQ(answer->body, "xyz");
}

TEST(SocketTransportTest, RefusesHeadersThatWouldSplitTheRequest) {
  EchoServer server;
  SocketTransport transport;
  HttpRequest r = Request("GET", server.url("/x"), "h");
  r.headers.emplace_back("X-Custom", "v\r\nX-Injected: 1");
  Result<HttpResponse> answer = transport.Send(r);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_TRUE(server.ports().empty());
}

}  // namespace
}  // namespace ohfp::aws
