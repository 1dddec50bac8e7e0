// An HttpTransport that answers from a script instead of the network, for
// tests of the AWS client and of anything built on it.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "aws/http_transport.h"
#include "core/status.h"

namespace ohfp::testsupport {

/// An HTTP answer with `status`, `body` and (lower-case) `headers`.
aws::HttpResponse MakeResponse(int status, std::string body, aws::Headers headers = {});

/// The Status a real transport returns when no answer came: kind is
/// "connect", "timeout" or "io".
Status TransportError(const std::string& kind);

class FakeTransport : public aws::HttpTransport {
 public:
  using Handler = std::function<Result<aws::HttpResponse>(const aws::HttpRequest&)>;

  /// Queues one answer; queued answers are used first, in order.
  void Push(Result<aws::HttpResponse> answer) { queue_.push_back(std::move(answer)); }
  void PushResponse(int status, std::string body, aws::Headers headers = {}) {
    Push(MakeResponse(status, std::move(body), std::move(headers)));
  }
  void PushTransportError(const std::string& kind) { Push(TransportError(kind)); }

  /// Answers requests once the queue is empty (without one: an "io" error).
  void set_handler(Handler handler) { handler_ = std::move(handler); }

  /// Records `request`, runs `on_send`, then answers as described above.
  Result<aws::HttpResponse> Send(const aws::HttpRequest& request) override;

  const std::vector<aws::HttpRequest>& requests() const { return requests_; }
  size_t pending() const { return queue_.size(); }

  /// Runs before each answer (e.g. to move a fake clock as time passes).
  std::function<void(const aws::HttpRequest&)> on_send;

 private:
  std::deque<Result<aws::HttpResponse>> queue_;
  Handler handler_;
  std::vector<aws::HttpRequest> requests_;
};

/// The value of header `name` (any case) in `request`, "" if absent.
std::string RequestHeader(const aws::HttpRequest& request, const std::string& name);

}  // namespace ohfp::testsupport
