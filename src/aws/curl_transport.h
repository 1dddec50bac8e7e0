// The production HttpTransport, on libcurl. One easy handle lives as long as
// the transport, so that consecutive calls to the same endpoint reuse the
// connection (and its TLS session).
#pragma once

#include <mutex>

#include "aws/http_transport.h"

namespace ohfp::aws {

class CurlTransport : public HttpTransport {
 public:
  /// Loads libcurl on the first Send (not at program start, to keep
  /// commands that never call AWS cheap; see runtime_libraries.h). An empty
  /// `proxy.host` means no proxy at all: proxy environment variables are
  /// ignored.
  explicit CurlTransport(ProxySettings proxy = {});
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  /// Sends `request` with its timeouts; safe to call from several threads
  /// (calls are serialized). Response header names come back lower-cased.
  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  ProxySettings proxy_;
  void* curl_ = nullptr;  // CURL*, made on first use; opaque so users need no curl headers
  std::mutex mu_;
};

}  // namespace ohfp::aws
