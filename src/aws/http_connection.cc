#include "aws/http_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "aws/runtime_libraries.h"

namespace ohfp::aws {
namespace {

int64_t MillisecondsLeft(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count();
}

std::string Errno(int error) { return std::strerror(error); }

// OpenSSL writes to the socket with write(2), which raises SIGPIPE when the
// peer has gone; that would kill the process. For the life of a guard the
// signal is blocked in this thread, and one raised meanwhile is discarded.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

bool IsIpLiteral(const std::string& host) {
  unsigned char addr[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), addr) == 1 ||
         inet_pton(AF_INET6, host.c_str(), addr) == 1;
}

// Connects one address, non-blocking; the socket on success, -1 with the
// reason in `*error` (and `*timed_out` when the deadline passed).
int ConnectOne(const addrinfo& ai, Deadline deadline, std::string* error, bool* timed_out) {
  int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) {
    *error = "socket: " + Errno(errno);
    return -1;
  }
  int rc = ::connect(fd, ai.ai_addr, ai.ai_addrlen);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    do {
      int64_t left = MillisecondsLeft(deadline);
      rc = left <= 0 ? 0 : ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60000)));
    } while ((rc < 0 && errno == EINTR) || (rc == 0 && MillisecondsLeft(deadline) > 0));
    if (rc == 0) {
      *timed_out = true;
      *error = "timed out connecting";
      ::close(fd);
      return -1;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    rc = so_error == 0 ? 0 : -1;
    errno = so_error;
  }
  if (rc != 0) {
    *error = Errno(errno);
    ::close(fd);
    return -1;
  }
  // Requests go out in one or two writes and are answered at once: Nagle's
  // delay would only add latency.
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

Status TransportError(const char* kind, const std::string& message) {
  return Status::Error(ErrorCode::kProviderError, message, {{"transport", kind}});
}

Result<std::shared_ptr<TlsContext>> TlsContext::Create(const std::string& ca_bundle) {
  std::string load_error;
  const SslLibrary* ssl = LoadSsl(&load_error);
  if (ssl == nullptr) return TransportError("connect", "TLS is unavailable: " + load_error);

  std::shared_ptr<TlsContext> context(new TlsContext());
  SSL_CTX* ctx = ssl->ctx_new(ssl->tls_client_method());
  if (ctx == nullptr) return TransportError("connect", "SSL_CTX_new failed");
  context->ctx_ = ctx;
  ssl->ctx_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, nullptr);
  // HTTP framing tells a truncated answer from a whole one; a peer that
  // closes without a TLS close_notify is common and harmless here.
  ssl->ctx_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  ssl->ctx_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int loaded = ca_bundle.empty() ? ssl->ctx_set_default_verify_paths(ctx)
                                 : ssl->ctx_load_verify_locations(ctx, ca_bundle.c_str(), nullptr);
  if (loaded != 1) {
    ssl->err_clear_error();
    return Status::Configuration(ca_bundle.empty() ? "cannot load the system's trusted certificates"
                                                   : "cannot load the CA bundle " + ca_bundle);
  }
  return context;
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) LoadSsl(nullptr)->ctx_free(static_cast<SSL_CTX*>(ctx_));
}

Result<std::unique_ptr<HttpConnection>> HttpConnection::Open(const std::string& host, int port,
                                                             Deadline deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // A literal needs no resolver (and no NSS modules loaded to ask one).
  hints.ai_flags = AI_NUMERICSERV | (IsIpLiteral(host) ? AI_NUMERICHOST : 0);
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    return TransportError("connect", "cannot resolve " + host + ": " + ::gai_strerror(rc));
  }

  std::string error;
  bool timed_out = false;
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0 && !timed_out; ai = ai->ai_next) {
    fd = ConnectOne(*ai, deadline, &error, &timed_out);
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    std::string where = host + ":" + service;
    if (timed_out) return TransportError("timeout", "timed out connecting to " + where);
    return TransportError("connect", "cannot connect to " + where + ": " + error);
  }
  return std::unique_ptr<HttpConnection>(new HttpConnection(fd));
}

HttpConnection::~HttpConnection() {
  if (ssl_ != nullptr) {
    const SslLibrary* lib = LoadSsl(nullptr);
    SigpipeGuard guard;
    lib->shutdown(static_cast<SSL*>(ssl_));  // one try, never waits
    lib->ssl_free(static_cast<SSL*>(ssl_));
    lib->err_clear_error();
  }
  if (fd_ >= 0) ::close(fd_);
}

Status HttpConnection::WaitFor(short events, Deadline deadline, const char* doing) {
  pollfd p{fd_, events, 0};
  while (true) {
    int64_t left = MillisecondsLeft(deadline);
    if (left <= 0) return TransportError("timeout", std::string("timed out ") + doing);
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60000)));
    if (rc > 0) return Status();
    if (rc < 0 && errno != EINTR) return TransportError("io", "poll: " + Errno(errno));
  }
}

Status HttpConnection::TlsFailure(int result, const char* doing, const char* kind_name) {
  const SslLibrary* lib = LoadSsl(nullptr);
  SSL* ssl = static_cast<SSL*>(ssl_);
  int kind = lib->get_error(ssl, result);
  int saved_errno = errno;
  std::string why;
  long verify = lib->get_verify_result(ssl);
  if (verify != X509_V_OK) {
    why = std::string("certificate verification failed: ") + lib->verify_error_string(verify);
  } else if (unsigned long code = lib->err_get_error(); code != 0) {
    char text[256];
    lib->err_error_string_n(code, text, sizeof text);
    why = text;
  } else if (kind == SSL_ERROR_SYSCALL) {
    why = saved_errno != 0 ? Errno(saved_errno) : "connection closed";
  } else {
    why = "TLS error " + std::to_string(kind);
  }
  lib->err_clear_error();
  return TransportError(kind_name, std::string("TLS failure ") + doing + ": " + why);
}

Status HttpConnection::StartTls(std::shared_ptr<TlsContext> tls, const std::string& server_name,
                                Deadline deadline) {
  const SslLibrary* lib = LoadSsl(nullptr);
  SSL* ssl = lib->ssl_new(static_cast<SSL_CTX*>(tls->native()));
  if (ssl == nullptr) return TransportError("connect", "SSL_new failed");
  ssl_ = ssl;
  tls_ = std::move(tls);
  lib->set_fd(ssl, fd_);
  // SNI carries host names only (RFC 6066); certificates name either.
  if (!IsIpLiteral(server_name)) {
    lib->ssl_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(server_name.c_str()));
  }
  if (lib->set1_host(ssl, server_name.c_str()) != 1) {
    return TransportError("connect", "cannot verify against the name " + server_name);
  }

  SigpipeGuard guard;
  while (true) {
    int rc = lib->connect(ssl);
    if (rc == 1) return Status();
    int kind = lib->get_error(ssl, rc);
    Status wait;
    if (kind == SSL_ERROR_WANT_READ) {
      wait = WaitFor(POLLIN, deadline, "in the TLS handshake");
    } else if (kind == SSL_ERROR_WANT_WRITE) {
      wait = WaitFor(POLLOUT, deadline, "in the TLS handshake");
    } else {
      return TlsFailure(rc, "in the TLS handshake", "connect");
    }
    if (!wait.ok()) return wait;
  }
}

Status HttpConnection::Write(std::string_view data, Deadline deadline) {
  const SslLibrary* lib = ssl_ != nullptr ? LoadSsl(nullptr) : nullptr;
  SigpipeGuard guard;
  while (!data.empty()) {
    if (lib != nullptr) {
      int chunk = static_cast<int>(std::min<size_t>(data.size(), 1 << 30));
      int rc = lib->write(static_cast<SSL*>(ssl_), data.data(), chunk);
      if (rc > 0) {
        data.remove_prefix(static_cast<size_t>(rc));
        continue;
      }
      int kind = lib->get_error(static_cast<SSL*>(ssl_), rc);
      if (kind != SSL_ERROR_WANT_READ && kind != SSL_ERROR_WANT_WRITE) {
        return TlsFailure(rc, "sending", "io");
      }
      Status wait = WaitFor(kind == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "sending");
      if (!wait.ok()) return wait;
      continue;
    }
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Status wait = WaitFor(POLLOUT, deadline, "sending");
      if (!wait.ok()) return wait;
    } else if (n < 0 && errno != EINTR) {
      return TransportError("io", "send: " + Errno(errno));
    }
  }
  return Status();
}

Status HttpConnection::Read(std::string* buffer, Deadline deadline) {
  // Received into a scratch array and copied out: resizing `buffer` to the
  // chunk size would zero 64 KiB before every read.
  constexpr size_t kChunk = 64 * 1024;
  char scratch[kChunk];
  const SslLibrary* lib = ssl_ != nullptr ? LoadSsl(nullptr) : nullptr;
  SigpipeGuard guard;  // a TLS read may write (key updates, alerts)
  while (true) {
    if (lib != nullptr) {
      int rc = lib->read(static_cast<SSL*>(ssl_), scratch, static_cast<int>(kChunk));
      if (rc > 0) {
        buffer->assign(scratch, static_cast<size_t>(rc));
        return Status();
      }
      int kind = lib->get_error(static_cast<SSL*>(ssl_), rc);
      if (kind == SSL_ERROR_ZERO_RETURN) {
        buffer->clear();
        return Status();
      }
      if (kind != SSL_ERROR_WANT_READ && kind != SSL_ERROR_WANT_WRITE) {
        return TlsFailure(rc, "receiving", "io");
      }
      Status wait = WaitFor(kind == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
                            "waiting for the answer");
      if (!wait.ok()) return wait;
      continue;
    }
    ssize_t n = ::recv(fd_, scratch, kChunk, 0);
    if (n >= 0) {
      buffer->assign(scratch, static_cast<size_t>(n));
      return Status();
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      Status wait = WaitFor(POLLIN, deadline, "waiting for the answer");
      if (!wait.ok()) return wait;
    } else if (errno != EINTR) {
      return TransportError("io", "recv: " + Errno(errno));
    }
  }
}

bool HttpConnection::IdleAndOpen() {
  if (ssl_ != nullptr && LoadSsl(nullptr)->pending(static_cast<SSL*>(ssl_)) > 0) return false;
  // Readable while idle means closed (or, from a TLS server, a close_notify).
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace ohfp::aws
