// An incremental HTTP/1.1 response parser: bytes in as they arrive, one
// HttpResponse out. It knows the three ways an answer's body can end (a
// Content-Length, chunked transfer coding, the connection closing) and
// whether the connection may carry another request afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "aws/http_transport.h"
#include "core/status.h"

namespace ohfp::aws {

class HttpResponseParser {
 public:
  /// Limits on what an answer may hold; beyond them the answer is malformed.
  static constexpr size_t kMaxHeaderBytes = 64 * 1024;
  static constexpr size_t kMaxBodyBytes = 256 * 1024 * 1024;

  /// `head_request`: the answer to a HEAD has headers and never a body.
  explicit HttpResponseParser(bool head_request = false);

  /// Consumes `data`. An error means the bytes are not an HTTP answer (or
  /// exceed the limits); the parser is then spent. Bytes after a complete
  /// answer are an error too: we never pipeline requests.
  Status Feed(std::string_view data);

  /// The peer closed the connection: completes an answer whose body runs to
  /// the close; any other unfinished answer is an error.
  Status FinishAtEof();

  /// Whether a whole answer has been parsed.
  bool done() const { return state_ == State::kDone; }

  /// Whether any byte of an answer has arrived.
  bool started() const { return started_; }

  /// Whether the connection may be reused after this answer (HTTP/1.1, no
  /// "Connection: close", body not delimited by the close).
  bool keep_alive() const { return keep_alive_; }

  /// The parsed answer; call once done().
  HttpResponse Take() { return std::move(response_); }

 private:
  enum class State {
    kHead,
    kBodyLength,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailers,
    kUntilClose,
    kDone,
    kFailed,
  };

  Status ParseHead(std::string_view head);
  Status Fail(const std::string& why);
  Status Step(bool* progressed);

  bool head_request_;
  State state_ = State::kHead;
  bool started_ = false;
  bool keep_alive_ = false;
  std::string buffer_;  // bytes received; those before pos_ are consumed
  size_t pos_ = 0;
  uint64_t remaining_ = 0;
  HttpResponse response_;
};

}  // namespace ohfp::aws
