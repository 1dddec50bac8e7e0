// The HTTP seam of the AWS client. Production sends with SocketTransport
// (which keeps a connection for reuse within a call); tests inject a
// transport that fakes answers or faults without a network.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace ohfp::aws {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // "https://ec2.us-east-1.amazonaws.com/"
  Headers headers;  // sent exactly as given (Host included)
  std::string body;
  int64_t timeout_ms = 30000;          // whole exchange
  int64_t connect_timeout_ms = 10000;  // connection set-up
};

struct HttpResponse {
  int status = 0;
  Headers headers;  // names lower-cased
  std::string body;
  /// The value of header `name` (lower-case), "" if absent.
  std::string Header(const std::string& name) const;
};

/// Outcome kinds a transport reports as errors (Status details "transport").
/// "connect" (no connection), "timeout" (no full answer in time), "io"
/// (connection broke mid-exchange).
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  /// Sends one request. A transport failure (no HTTP answer) is a
  /// kProviderError whose details hold {"transport": "connect"|"timeout"|"io"}.
  /// Any HTTP answer, whatever its status, is a success here.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

/// An HTTP proxy for the transport.
struct ProxySettings {
  std::string host;  // "" = no proxy
  int64_t port = 0;
};

}  // namespace ohfp::aws
