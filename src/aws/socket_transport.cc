#include "aws/socket_transport.h"

#include <algorithm>
#include <cctype>

#include "aws/endpoints.h"
#include "aws/http_response_parser.h"
#include "core/ascii.h"

namespace ohfp::aws {
namespace {

bool HasHeader(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return EqualsIgnoringCase(h.first, name); });
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// The request as it goes on the wire. `target` is the path and query, or
// the whole URL when a proxy forwards plain http.
Result<std::string> Serialize(const HttpRequest& request, const Url& url,
                              const std::string& target) {
  if (request.method.empty() || HasLineBreak(request.method) || HasLineBreak(target) ||
      target.find(' ') != std::string::npos) {
    return Status::InvalidRequest("unusable HTTP request line for " + request.url);
  }
  std::string wire;
  wire.reserve(256 + request.body.size());
  wire += request.method + " " + target + " HTTP/1.1\r\n";
  if (!HasHeader(request.headers, "host")) wire += "Host: " + HostHeader(url) + "\r\n";
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value) ||
        name.find(':') != std::string::npos) {
      return Status::InvalidRequest("unusable HTTP header " + name);
    }
    wire += name + ": " + value + "\r\n";
  }
  bool has_body = !request.body.empty() || request.method == "POST" || request.method == "PUT" ||
                  request.method == "PATCH";
  if (has_body && !HasHeader(request.headers, "content-length")) {
    wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  wire += "\r\n";
  wire += request.body;
  return wire;
}

// Reads the whole answer to a request already sent on `connection`.
Result<HttpResponse> ReadAnswer(HttpConnection* connection, bool head_request, Deadline deadline,
                                bool* started, bool* keep_alive) {
  HttpResponseParser parser(head_request);
  std::string chunk;
  while (!parser.done()) {
    Status read = connection->Read(&chunk, deadline);
    *started = parser.started();
    if (!read.ok()) return read;
    Status fed = chunk.empty() ? parser.FinishAtEof() : parser.Feed(chunk);
    *started = parser.started();
    if (!fed.ok()) return fed;
  }
  *keep_alive = parser.keep_alive();
  return parser.Take();
}

}  // namespace

SocketTransport::SocketTransport(TransportOptions options) : options_(std::move(options)) {}

SocketTransport::~SocketTransport() = default;

Result<std::shared_ptr<TlsContext>> SocketTransport::Tls() {
  std::lock_guard<std::mutex> lock(mu_);
  if (tls_ == nullptr) {
    Result<std::shared_ptr<TlsContext>> made = TlsContext::Create(options_.ca_bundle);
    if (!made.ok()) return made.status();
    tls_ = *made;
  }
  return tls_;
}

Status SocketTransport::OpenTunnel(HttpConnection* proxy, const std::string& authority,
                                   Deadline deadline) {
  Status sent = proxy->Write(
      "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n", deadline);
  if (!sent.ok()) return sent;

  // The answer's head, read a piece at a time: a tunnel's bytes follow it
  // and must stay unread for TLS.
  std::string head;
  std::string chunk;
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > HttpResponseParser::kMaxHeaderBytes) {
      return TransportError("connect", "the proxy's answer to CONNECT is too large");
    }
    Status read = proxy->Read(&chunk, deadline);
    if (!read.ok()) return read;
    if (chunk.empty()) return TransportError("connect", "the proxy closed the connection");
    head += chunk;
  }
  if (head.find("\r\n\r\n") + 4 != head.size()) {
    return TransportError("connect", "the proxy sent data before the tunnel opened");
  }
  // "HTTP/1.1 200 Connection established"
  if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0 || head[9] != '2') {
    return TransportError("connect",
                          "the proxy refused the tunnel: " + head.substr(0, head.find('\r')));
  }
  return Status();
}

Result<std::unique_ptr<HttpConnection>> SocketTransport::Connect(const std::string& scheme,
                                                                 const std::string& host, int port,
                                                                 Deadline deadline) {
  bool proxied = !options_.proxy.host.empty();
  Result<std::unique_ptr<HttpConnection>> connection =
      proxied ? HttpConnection::Open(options_.proxy.host, static_cast<int>(options_.proxy.port),
                                     deadline)
              : HttpConnection::Open(host, port, deadline);
  if (!connection.ok() || scheme != "https") return connection;

  if (proxied) {
    std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    Status tunnel = OpenTunnel(connection->get(), bracketed + ":" + std::to_string(port), deadline);
    if (!tunnel.ok()) return tunnel;
  }
  Result<std::shared_ptr<TlsContext>> tls = Tls();
  if (!tls.ok()) return tls.status();
  Status handshake = (*connection)->StartTls(*tls, host, deadline);
  if (!handshake.ok()) return handshake;
  return connection;
}

std::unique_ptr<HttpConnection> SocketTransport::TakeIdle(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = idle_.size(); i-- > 0;) {
    if (idle_[i].first != endpoint) continue;
    std::unique_ptr<HttpConnection> connection = std::move(idle_[i].second);
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
    if (connection->IdleAndOpen()) return connection;
  }
  return nullptr;
}

void SocketTransport::PutIdle(const std::string& endpoint,
                              std::unique_ptr<HttpConnection> connection) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() >= kMaxIdle) idle_.erase(idle_.begin());
  idle_.emplace_back(endpoint, std::move(connection));
}

Result<HttpResponse> SocketTransport::Send(const HttpRequest& request) {
  auto start = std::chrono::steady_clock::now();
  Deadline deadline = start + std::chrono::milliseconds(std::max<int64_t>(1, request.timeout_ms));
  Deadline connect_deadline =
      std::min(deadline,
               start + std::chrono::milliseconds(std::max<int64_t>(1, request.connect_timeout_ms)));

  Result<Url> url = ParseUrl(request.url);
  if (!url.ok()) return TransportError("connect", url.status().message());
  int port = url->port != 0 ? url->port : (url->scheme == "https" ? 443 : 80);
  std::string endpoint = url->scheme + "://" + url->host + ":" + std::to_string(port);
  bool forward = !options_.proxy.host.empty() && url->scheme == "http";
  std::string target =
      forward ? request.url : url->path + (url->query.empty() ? "" : "?" + url->query);
  Result<std::string> wire = Serialize(request, *url, target);
  if (!wire.ok()) return wire.status();

  // At most two tries: the second only when a reused connection proved
  // closed before any answer arrived, so the server cannot have acted on
  // the request.
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<HttpConnection> connection = attempt == 0 ? TakeIdle(endpoint) : nullptr;
    bool reused = connection != nullptr;
    if (!reused) {
      Result<std::unique_ptr<HttpConnection>> opened =
          Connect(url->scheme, url->host, port, connect_deadline);
      if (!opened.ok()) return opened.status();
      connection = std::move(*opened);
    }

    bool started = false;
    bool keep_alive = false;
    Status sent = connection->Write(*wire, deadline);
    Result<HttpResponse> answer = sent.ok() ? ReadAnswer(connection.get(), request.method == "HEAD",
                                                         deadline, &started, &keep_alive)
                                            : Result<HttpResponse>(sent);
    if (answer.ok()) {
      if (keep_alive) PutIdle(endpoint, std::move(connection));
      return answer;
    }
    bool stale = reused && !started && answer.status().details().value("transport", "") == "io";
    if (!stale || attempt > 0) return answer.status();
  }
}

}  // namespace ohfp::aws
