// The production HttpTransport: HTTP/1.1 over our own sockets, with TLS from
// OpenSSL's libssl for https endpoints. One idle connection is kept, so
// consecutive calls to the same endpoint in one process reuse it (and its
// TLS session).
//
// Why not libcurl: loading it and the ~25 libraries it links costs each
// process about 13 million instructions, some 40% of a whole
// requestMachines call, and Host Factory starts a process for every call.
// The AWS APIs need a small part of HTTP/1.1: one request at a time,
// answers framed by Content-Length or chunks.
#pragma once

#include <memory>
#include <mutex>
#include <string>

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
  /// (calls are serialized). Headers go out exactly as given, plus Host when
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

  TransportOptions options_;
  std::mutex mu_;
  std::shared_ptr<TlsContext> tls_;
  std::unique_ptr<HttpConnection> idle_;
  std::string idle_endpoint_;  // "scheme://host:port" of idle_
};

}  // namespace ohfp::aws
