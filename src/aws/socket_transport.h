// The production HttpTransport: HTTP/1.1 over our own sockets, with TLS from
// OpenSSL's libssl for https endpoints. Idle connections are kept (a few),
// so later calls to the same endpoint in one process reuse them (and their
// TLS sessions), and calls from several threads go out side by side, each
// on its own connection.
//
// Why not libcurl: loading it and the ~25 libraries it links costs each
// process about 13 million instructions, some 40% of a whole
// requestMachines call, and Host Factory starts a process for every call.
// The AWS APIs need a small part of HTTP/1.1: one request at a time on a
// connection, answers framed by Content-Length or chunks.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "aws/http_connection.h"
#include "aws/http_transport.h"

namespace ohfp::aws {

struct TransportOptions {
  /// An HTTP proxy; "" = none (proxy environment variables are not read).
  /// https goes through it in a CONNECT tunnel.
  ProxySettings proxy;
  /// PEM file of the certificate authorities trusted for https; "" = the
  /// system's.
  std::string ca_bundle;
};

class SocketTransport : public HttpTransport {
 public:
  explicit SocketTransport(TransportOptions options = {});
  ~SocketTransport() override;
  SocketTransport(const SocketTransport&) = delete;
  SocketTransport& operator=(const SocketTransport&) = delete;

  /// Sends `request` within its timeouts; safe to call from several threads
  /// at once (each exchange has a connection to itself). Headers go out
  /// exactly as given, plus Host when
  /// absent and Content-Length when there is a body; answer header names
  /// come back lower-cased. A kept-alive connection that turns out to be
  /// closed before any answer byte arrives is replaced once.
  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  Result<std::unique_ptr<HttpConnection>> Connect(const std::string& scheme,
                                                  const std::string& host, int port,
                                                  Deadline deadline);
  Status OpenTunnel(HttpConnection* proxy, const std::string& authority, Deadline deadline);
  Result<std::shared_ptr<TlsContext>> Tls();
  // An idle connection to `endpoint` that is still open, or null.
  std::unique_ptr<HttpConnection> TakeIdle(const std::string& endpoint);
  void PutIdle(const std::string& endpoint, std::unique_ptr<HttpConnection> connection);

  /// Idle connections kept at most; more are closed when their call ends.
  static constexpr size_t kMaxIdle = 8;

  TransportOptions options_;
  std::mutex mu_;  // guards tls_ and idle_; never held during I/O
  std::shared_ptr<TlsContext> tls_;
  // (endpoint "scheme://host:port", connection), the most recent last.
  std::vector<std::pair<std::string, std::unique_ptr<HttpConnection>>> idle_;
};

}  // namespace ohfp::aws
