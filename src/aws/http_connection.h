// One client connection: TCP, optionally wrapped in TLS, with every wait
// bounded by a deadline. The byte stream under SocketTransport.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ohfp::aws {

using Deadline = std::chrono::steady_clock::time_point;

/// A transport failure of `kind` ("connect", "timeout" or "io"; see
/// HttpTransport::Send).
Status TransportError(const char* kind, const std::string& message);

/// What a TLS client trusts. Shared by the connections of one transport.
class TlsContext {
 public:
  /// `ca_bundle`: a PEM file of trusted certificates; "" = the system's.
  /// Loads libssl on first use.
  static Result<std::shared_ptr<TlsContext>> Create(const std::string& ca_bundle);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  void* native() const { return ctx_; }  // SSL_CTX*

 private:
  TlsContext() = default;
  void* ctx_ = nullptr;
};

/// Failures are kProviderError with details {"transport": kind}: "connect"
/// (nothing was sent: refused, unreachable, TLS handshake or certificate),
/// "timeout" (the deadline passed) or "io" (the connection broke).
class HttpConnection {
 public:
  /// Connects to `host`:`port` (a name or an IP literal), trying each
  /// address in turn until `deadline`.
  static Result<std::unique_ptr<HttpConnection>> Open(const std::string& host, int port,
                                                      Deadline deadline);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  /// Runs a TLS handshake on the open connection, verifying that the
  /// server's certificate chains to `tls` and names `server_name` (a host
  /// name or an IP literal), which is also sent as SNI.
  Status StartTls(std::shared_ptr<TlsContext> tls, const std::string& server_name,
                  Deadline deadline);

  /// Sends all of `data`.
  Status Write(std::string_view data, Deadline deadline);

  /// Reads what is available (waiting for at least one byte) into
  /// `*buffer`, replacing its contents; an empty buffer means the peer
  /// closed the connection.
  Status Read(std::string* buffer, Deadline deadline);

  /// Whether an idle kept-alive connection still looks usable: the peer
  /// has neither closed it nor sent anything unasked.
  bool IdleAndOpen();

 private:
  explicit HttpConnection(int fd) : fd_(fd) {}
  Status WaitFor(short events, Deadline deadline, const char* doing);
  Status TlsFailure(int result, const char* doing, const char* kind);

  int fd_ = -1;
  void* ssl_ = nullptr;  // SSL*, once StartTls succeeded
  std::shared_ptr<TlsContext> tls_;
};

}  // namespace ohfp::aws
