#include "aws/http_response_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/ascii.h"

namespace ohfp::aws {
namespace {

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Whether a comma-separated header value lists `token` (any case).
bool HasToken(std::string_view value, std::string_view token) {
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    if (AsciiLower(Trim(value.substr(start, comma - start))) == token) return true;
    start = comma + 1;
  }
  return false;
}

// A non-empty run of decimal digits, nothing else.
bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

HttpResponseParser::HttpResponseParser(bool head_request) : head_request_(head_request) {}

Status HttpResponseParser::Fail(const std::string& why) {
  state_ = State::kFailed;
  return Status::Error(ErrorCode::kProviderError, "malformed HTTP answer: " + why,
                       {{"transport", "io"}});
}

Status HttpResponseParser::Feed(std::string_view data) {
  if (state_ == State::kFailed) return Fail("input after an error");
  if (data.empty()) return Status();
  started_ = true;
  if (state_ == State::kDone) return Fail("bytes after the end of the answer");

  // Drop consumed bytes before growing the buffer, so it holds at most
  // one unparsed piece plus the new data.
  buffer_.erase(0, pos_);
  pos_ = 0;
  buffer_.append(data);

  bool progressed = true;
  while (progressed && state_ != State::kDone && state_ != State::kFailed) {
    progressed = false;
    Status s = Step(&progressed);
    if (!s.ok()) return s;
  }
  if (state_ == State::kDone && pos_ < buffer_.size()) {
    return Fail("bytes after the end of the answer");
  }
  return Status();
}

Status HttpResponseParser::Step(bool* progressed) {
  std::string_view in = std::string_view(buffer_).substr(pos_);
  switch (state_) {
    case State::kHead: {
      size_t end = in.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (in.size() > kMaxHeaderBytes) return Fail("header block too large");
        return Status();
      }
      if (end > kMaxHeaderBytes) return Fail("header block too large");
      pos_ += end + 4;
      *progressed = true;
      return ParseHead(in.substr(0, end + 2));
    }

    case State::kBodyLength:
    case State::kChunkData: {
      size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      if (take == 0 && remaining_ > 0) return Status();
      response_.body.append(in.substr(0, take));
      pos_ += take;
      remaining_ -= take;
      *progressed = true;
      if (remaining_ == 0) {
        state_ = state_ == State::kBodyLength ? State::kDone : State::kChunkEnd;
      }
      return Status();
    }

    case State::kChunkSize: {
      size_t eol = in.find("\r\n");
      if (eol == std::string_view::npos) {
        if (in.size() > 1024) return Fail("chunk size line too long");
        return Status();
      }
      // Chunk extensions (";name=value") carry nothing we use.
      std::string_view line = Trim(in.substr(0, std::min(eol, in.find(';'))));
      uint64_t size = 0;
      auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
      if (line.empty() || ec != std::errc() || end != line.data() + line.size()) {
        return Fail("bad chunk size");
      }
      if (size > kMaxBodyBytes - response_.body.size()) return Fail("body too large");
      pos_ += eol + 2;
      remaining_ = size;
      state_ = size == 0 ? State::kTrailers : State::kChunkData;
      *progressed = true;
      return Status();
    }

    case State::kChunkEnd:
      if (in.size() < 2) return Status();
      if (in.substr(0, 2) != "\r\n") return Fail("chunk not followed by CRLF");
      pos_ += 2;
      state_ = State::kChunkSize;
      *progressed = true;
      return Status();

    case State::kTrailers: {
      // Trailer fields are skipped; an empty line ends the answer.
      size_t eol = in.find("\r\n");
      if (eol == std::string_view::npos) {
        if (in.size() > kMaxHeaderBytes) return Fail("trailer too large");
        return Status();
      }
      pos_ += eol + 2;
      if (eol == 0) state_ = State::kDone;
      *progressed = true;
      return Status();
    }

    case State::kUntilClose:
      if (in.size() > kMaxBodyBytes - response_.body.size()) return Fail("body too large");
      response_.body.append(in);
      pos_ += in.size();
      return Status();

    case State::kDone:
    case State::kFailed:
      return Status();
  }
  return Status();
}

Status HttpResponseParser::ParseHead(std::string_view head) {
  // Status line: "HTTP/1.1 200 OK".
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ' ||
      (line.size() > 12 && line[12] != ' ')) {
    return Fail("bad status line");
  }
  uint64_t status = 0;
  if (!ParseDecimal(line.substr(9, 3), &status) || status < 100) {
    return Fail("bad status code");
  }
  bool http11 = line.substr(5, 3) == "1.1";

  Headers headers;
  size_t start = eol + 2;
  while (start < head.size()) {
    size_t end = head.find("\r\n", start);
    std::string_view field = head.substr(start, end - start);
    start = end + 2;
    size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0 || field[0] == ' ' || field[0] == '\t') {
      return Fail("bad header line");
    }
    headers.emplace_back(AsciiLower(Trim(field.substr(0, colon))),
                         std::string(Trim(field.substr(colon + 1))));
  }

  // An interim answer (100 Continue and the like) precedes the real one.
  if (status < 200) {
    if (status == 101) return Fail("unexpected protocol switch");
    return Status();
  }

  response_.status = static_cast<int>(status);
  response_.headers = std::move(headers);
  std::string connection = response_.Header("connection");
  keep_alive_ = http11 && !HasToken(connection, "close");

  std::string transfer_encoding = response_.Header("transfer-encoding");
  std::string content_length = response_.Header("content-length");
  if (head_request_ || status == 204 || status == 304) {
    state_ = State::kDone;
  } else if (!transfer_encoding.empty()) {
    if (!HasToken(transfer_encoding, "chunked")) return Fail("unsupported transfer coding");
    state_ = State::kChunkSize;
  } else if (!content_length.empty()) {
    uint64_t length = 0;
    if (!ParseDecimal(content_length, &length)) return Fail("bad Content-Length");
    if (length > kMaxBodyBytes) return Fail("body too large");
    remaining_ = length;
    state_ = length == 0 ? State::kDone : State::kBodyLength;
  } else {
    keep_alive_ = false;
    state_ = State::kUntilClose;
  }
  return Status();
}

Status HttpResponseParser::FinishAtEof() {
  if (state_ == State::kUntilClose) {
    state_ = State::kDone;
    return Status();
  }
  if (state_ == State::kDone) return Status();
  if (state_ == State::kFailed) return Fail("input after an error");
  state_ = State::kFailed;  // nothing can follow the close
  return Status::Error(ErrorCode::kProviderError,
                       started_ ? "connection closed in the middle of the answer"
                                : "connection closed before any answer",
                       {{"transport", "io"}});
}

}  // namespace ohfp::aws
