#include "support/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "support/loopback.h"

namespace ohfp::testsupport {
namespace {

constexpr int64_t kIoTimeoutMs = 30000;  // a silent peer, not a fault we injected

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Closes with a TCP reset instead of a clean FIN: what a dropped connection
// looks like to the client.
void Reset(int fd) {
  struct linger hard = {1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd);
}

// Waits until `fd` is readable; false on timeout or when `wake` fires.
bool WaitReadable(int fd, int wake, int64_t timeout_ms) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, static_cast<int>(timeout_ms));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || (fds[1].revents & POLLIN)) return false;
    return true;
  }
}

struct HttpMessage {
  std::string start_line;
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string body;

  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (Lower(k) == name) return v;
    }
    return "";
  }
};

// Splits "start\r\nK: V\r\n…\r\n\r\n" into its parts; false if malformed.
bool ParseHead(const std::string& head, HttpMessage* m) {
  size_t pos = head.find("\r\n");
  if (pos == std::string::npos) return false;
  m->start_line = head.substr(0, pos);
  pos += 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    pos = end + 2;
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) return false;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    m->headers.emplace_back(line.substr(0, colon), value);
  }
  return true;
}

// Reads one request (head and Content-Length body) from `fd`.
bool ReadRequest(int fd, int wake, HttpMessage* m) {
  std::string data;
  char buf[16384];
  size_t head_end = std::string::npos;
  size_t want = 0;
  for (;;) {
    if (head_end != std::string::npos && data.size() >= head_end + 4 + want) break;
    if (!WaitReadable(fd, wake, kIoTimeoutMs)) return false;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.append(buf, static_cast<size_t>(n));
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      if (!ParseHead(data.substr(0, head_end + 2), m)) return false;
      std::string length = m->Header("content-length");
      want = length.empty() ? 0 : std::stoul(length);
    }
  }
  m->body = data.substr(head_end + 4, want);
  return true;
}

// Decodes a chunked body; what cannot be decoded is returned as is.
std::string Unchunk(const std::string& raw) {
  std::string out;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) return raw;
    size_t size = std::strtoul(raw.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (size == 0) return out;
    if (eol + 2 + size > raw.size()) return raw;
    out.append(raw, eol + 2, size);
    pos = eol + 2 + size + 2;
  }
  return out;
}

bool ParseResponse(const std::string& raw, HttpMessage* m) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  if (!ParseHead(raw.substr(0, head_end + 2), m)) return false;
  std::string rest = raw.substr(head_end + 4);
  if (Lower(m->Header("transfer-encoding")).find("chunked") != std::string::npos) {
    m->body = Unchunk(rest);
  } else if (!m->Header("content-length").empty()) {
    m->body = rest.substr(0, std::stoul(m->Header("content-length")));
  } else {
    m->body = rest;
  }
  return true;
}

// The message with a fresh Content-Length and "Connection: close".
std::string Serialize(const HttpMessage& m) {
  std::string out = m.start_line + "\r\n";
  for (const auto& [k, v] : m.headers) {
    std::string key = Lower(k);
    if (key == "content-length" || key == "transfer-encoding" || key == "connection" ||
        key == "keep-alive") {
      continue;
    }
    out += k + ": " + v + "\r\n";
  }
  out += "Content-Length: " + std::to_string(m.body.size()) + "\r\nConnection: close\r\n\r\n";
  return out + m.body;
}

std::string Answer(int status, const std::string& reason, const std::string& content_type,
                   const std::string& body) {
  HttpMessage m;
  m.start_line = "HTTP/1.1 " + std::to_string(status) + " " + reason;
  m.headers = {{"Content-Type", content_type}, {"Server", "ohfp-fault-proxy"}};
  m.body = body;
  return Serialize(m);
}

std::string HtmlError(int status, const std::string& reason) {
  return Answer(status, reason, "text/html; charset=utf-8",
                "<!doctype html>\n<html lang=en>\n<title>" + std::to_string(status) + " " + reason +
                    "</title>\n<h1>" + reason +
                    "</h1>\n<p>The proxy in front of the emulator failed this call.</p>\n");
}

// EC2 answers in its own error shape, the other Query services in
// ErrorResponse, JSON services with __type.
std::string ThrottleAnswer(const ProxiedCall& call, int64_t request_number) {
  std::string id = "fault-proxy-" + std::to_string(request_number);
  if (call.json) {
    return Answer(400, "Bad Request", "application/x-amz-json-1.1",
                  R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
  }
  if (call.service == "ec2") {
    return Answer(400, "Bad Request", "text/xml;charset=UTF-8",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>"
                  "RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error>"
                  "</Errors><RequestID>" +
                      id + "</RequestID></Response>");
  }
  return Answer(400, "Bad Request", "text/xml",
                "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate "
                "exceeded</Message></Error><RequestId>" +
                    id + "</RequestId></ErrorResponse>");
}

// Action=… from a form body ("" if none).
std::string FormAction(const std::string& body) {
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t end = body.find('&', pos);
    if (end == std::string::npos) end = body.size();
    if (body.compare(pos, 7, "Action=") == 0) return body.substr(pos + 7, end - pos - 7);
    pos = end + 1;
  }
  return "";
}

ProxiedCall DescribeCall(const HttpMessage& request) {
  ProxiedCall call;
  call.body = request.body;
  std::string target = request.Header("x-amz-target");
  if (!target.empty()) {
    call.json = true;
    size_t dot = target.rfind('.');
    call.action = dot == std::string::npos ? target : target.substr(dot + 1);
  } else {
    call.action = FormAction(request.body);
  }
  // Credential=AKID/20261204/us-east-1/ec2/aws4_request
  std::string auth = request.Header("authorization");
  size_t cred = auth.find("Credential=");
  if (cred != std::string::npos) {
    size_t end = auth.find_first_of(", ", cred);
    std::string scope = auth.substr(cred, end == std::string::npos ? end : end - cred);
    std::vector<std::string> parts;
    size_t p = 0;
    while (p <= scope.size()) {
      size_t slash = scope.find('/', p);
      if (slash == std::string::npos) slash = scope.size();
      parts.push_back(scope.substr(p, slash - p));
      p = slash + 1;
    }
    if (parts.size() >= 5) call.service = parts[3];
  }
  if (call.action.empty()) call.action = "(none)";
  return call;
}

}  // namespace

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kDelay:
      return "delay";
    case FaultKind::kResetBefore:
      return "reset_before";
    case FaultKind::kResetAfter:
      return "reset_after";
    case FaultKind::kHold:
      return "hold";
    case FaultKind::kServerError:
      return "http_500";
    case FaultKind::kUnavailable:
      return "http_503";
    case FaultKind::kThrottle:
      return "throttle";
    case FaultKind::kRewrite:
      return "rewrite";
  }
  return "?";
}

std::vector<FaultKind> AllFailureKinds() {
  return {FaultKind::kDelay,   FaultKind::kResetBefore, FaultKind::kResetAfter,
          FaultKind::kHold,    FaultKind::kServerError, FaultKind::kUnavailable,
          FaultKind::kThrottle};
}

int64_t FaultCounts::total_calls() const {
  int64_t n = 0;
  for (const auto& [k, v] : calls) n += v;
  return n;
}

int64_t FaultCounts::total_faults() const {
  int64_t n = 0;
  for (const auto& [k, v] : faults) n += v;
  return n;
}

std::unique_ptr<FaultProxy> FaultProxy::Start(int upstream_port, uint64_t seed) {
  std::unique_ptr<FaultProxy> proxy(new FaultProxy());
  proxy->upstream_port_ = upstream_port;
  proxy->random_.seed(seed);
  if (::pipe2(proxy->wake_, O_CLOEXEC) != 0) return nullptr;

  int fd = testing::ListenOnLoopback(128, &proxy->port_);
  if (fd < 0) {
    std::fprintf(stderr, "fault proxy: cannot listen: %s\n", std::strerror(errno));
    return nullptr;
  }
  proxy->listen_fd_ = fd;
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  if (wake_[1] >= 0) {
    char c = 1;
    (void)!::write(wake_[1], &c, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

void FaultProxy::AddRule(FaultRule rule) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back({std::move(rule), 0});
}

void FaultProxy::ClearRules() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
}

void FaultProxy::SendOneAtATime(std::vector<std::string> actions) {
  std::lock_guard<std::mutex> lock(mu_);
  sent_alone_ = std::move(actions);
}

FaultCounts FaultProxy::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

void FaultProxy::ResetCounts() {
  std::lock_guard<std::mutex> lock(mu_);
  counts_ = FaultCounts();
}

std::string FaultProxy::Report() const {
  FaultCounts c = counts();
  std::string out = "calls=" + std::to_string(c.total_calls()) + " (";
  bool first = true;
  for (const auto& [action, n] : c.calls) {
    out += (first ? "" : " ") + action + "=" + std::to_string(n);
    first = false;
  }
  out += ") forwarded=" + std::to_string(c.forwarded) +
         " upstream_5xx=" + std::to_string(c.upstream_errors) +
         " faults=" + std::to_string(c.total_faults()) + " (";
  first = true;
  for (const auto& [kind, n] : c.faults) {
    out += (first ? "" : " ") + kind + "=" + std::to_string(n);
    first = false;
  }
  return out + ")";
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    if (!WaitReadable(listen_fd_, wake_[0], 1000)) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, client] { Serve(client); });
  }
}

FaultProxy::Decision FaultProxy::Decide(const ProxiedCall& call) {
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_.calls[call.action];
  Decision d;
  for (Rule& rule : rules_) {
    const FaultRule& spec = rule.spec;
    if (!spec.actions.empty() &&
        std::find(spec.actions.begin(), spec.actions.end(), call.action) == spec.actions.end()) {
      continue;
    }
    if (spec.first_n >= 0 && rule.injected >= spec.first_n) continue;
    if (spec.kinds.empty()) continue;
    double draw = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
    if (draw >= spec.probability) continue;
    d.inject = true;
    d.kind = spec.kinds[std::uniform_int_distribution<size_t>(0, spec.kinds.size() - 1)(random_)];
    d.delay_ms = std::uniform_int_distribution<int64_t>(
        spec.delay_min_ms, std::max(spec.delay_min_ms, spec.delay_max_ms))(random_);
    d.hold_max_ms = spec.hold_max_ms;
    d.rewrite = spec.rewrite;
    ++rule.injected;
    ++counts_.faults[FaultKindName(d.kind)];
    ++counts_.faults_by_action[call.action + "/" + FaultKindName(d.kind)];
    return d;
  }
  return d;
}

bool FaultProxy::WaitWhileConnected(int client, int64_t ms) {
  int64_t until = NowMs() + ms;
  for (;;) {
    int64_t left = until - NowMs();
    if (left <= 0) return true;
    if (!WaitReadable(client, wake_[0], left)) {
      if (stopping_) return false;
      continue;  // timed out: the loop ends the wait
    }
    // The client sent its whole request, so readable now means it hung up.
    char c;
    ssize_t n = ::recv(client, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0;
  }
}

std::string FaultProxy::Forward(const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      !SendAll(fd, request)) {
    ::close(fd);
    return "";
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_.forwarded;
  }
  std::string answer;
  char buf[65536];
  for (;;) {
    if (!WaitReadable(fd, wake_[0], kIoTimeoutMs)) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

void FaultProxy::Serve(int client) {
  HttpMessage request;
  if (!ReadRequest(client, wake_[0], &request)) {
    ::close(client);
    return;
  }
  ProxiedCall call = DescribeCall(request);
  Decision d = Decide(call);
  int64_t number;
  bool alone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    number = next_request_id_++;
    alone = std::find(sent_alone_.begin(), sent_alone_.end(), call.action) != sent_alone_.end();
  }

  if (d.inject) {
    switch (d.kind) {
      case FaultKind::kResetBefore:
        Reset(client);
        return;
      case FaultKind::kHold:
        WaitWhileConnected(client, d.hold_max_ms);
        ::close(client);
        return;
      case FaultKind::kServerError:
        SendAll(client, HtmlError(500, "Internal Server Error"));
        ::close(client);
        return;
      case FaultKind::kUnavailable:
        SendAll(client, HtmlError(503, "Service Unavailable"));
        ::close(client);
        return;
      case FaultKind::kThrottle:
        SendAll(client, ThrottleAnswer(call, number));
        ::close(client);
        return;
      case FaultKind::kDelay:
      case FaultKind::kResetAfter:
      case FaultKind::kRewrite:
        break;  // these forward first
    }
  }

  // Upstream gets the request as sent (its signature covers the Host header),
  // only told to close the connection after answering.
  HttpMessage upstream_request = request;
  std::string raw = Serialize(upstream_request);
  std::unique_lock<std::mutex> one(one_at_a_time_, std::defer_lock);
  if (alone) one.lock();
  std::string raw_answer = Forward(raw);
  if (alone) one.unlock();
  HttpMessage answer;
  if (raw_answer.empty() || !ParseResponse(raw_answer, &answer)) {
    Reset(client);  // upstream is gone: the client sees a broken connection
    return;
  }

  if (answer.start_line.find(" 5") == 8) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_.upstream_errors;
  }
  if (d.inject && d.kind == FaultKind::kResetAfter) {
    Reset(client);
    return;
  }
  if (d.inject && d.kind == FaultKind::kDelay && !WaitWhileConnected(client, d.delay_ms)) {
    ::close(client);
    return;
  }
  if (d.inject && d.kind == FaultKind::kRewrite && d.rewrite) {
    answer.body = d.rewrite(call, answer.body);
  }
  SendAll(client, Serialize(answer));
  ::close(client);
}

}  // namespace ohfp::testsupport
