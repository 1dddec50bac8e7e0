// HTTP/1.1 answers, from raw bytes: the first byte picks whether the request
// was a HEAD and where the rest is split in two; the rest is the answer as
// it arrives from the network.
//
// Checks: the split never changes the outcome (the parser is the same
// whatever pieces the network delivers); a finished answer has a final
// status and a body within the limit; a parser that failed stays failed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "aws/http_response_parser.h"
#include "fuzz/check.h"

namespace {

struct Outcome {
  bool ok = true;
  bool done = false;
  bool keep_alive = false;
  ohfp::aws::HttpResponse response;
};

Outcome Parse(bool head, std::string_view first, std::string_view second, bool eof) {
  ohfp::aws::HttpResponseParser parser(head);
  Outcome out;
  out.ok = parser.Feed(first).ok() && parser.Feed(second).ok();
  if (out.ok && eof && !parser.done()) out.ok = parser.FinishAtEof().ok();
  if (!out.ok) {
    FUZZ_CHECK(!parser.Feed("x").ok(), "a failed parser accepted more input");
    return out;
  }
  out.done = parser.done();
  out.keep_alive = parser.keep_alive();
  if (out.done) out.response = parser.Take();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool head = (data[0] & 0x80) != 0;
  std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t split = wire.empty() ? 0 : (data[0] & 0x7f) % (wire.size() + 1);
  std::string text(wire);

  for (bool eof : {false, true}) {
    Outcome whole = Parse(head, wire, "", eof);
    Outcome pieces = Parse(head, wire.substr(0, split), wire.substr(split), eof);
    FUZZ_CHECK(whole.ok == pieces.ok, text);
    FUZZ_CHECK(whole.done == pieces.done, text);
    if (!whole.done) continue;
    FUZZ_CHECK(whole.keep_alive == pieces.keep_alive, text);
    FUZZ_CHECK(whole.response.status == pieces.response.status, text);
    FUZZ_CHECK(whole.response.body == pieces.response.body, text);
    FUZZ_CHECK(whole.response.headers == pieces.response.headers, text);
    FUZZ_CHECK(whole.response.status >= 200 && whole.response.status <= 999, text);
    FUZZ_CHECK(whole.response.body.size() <= ohfp::aws::HttpResponseParser::kMaxBodyBytes, text);
    FUZZ_CHECK(!head || whole.response.body.empty(), text);
  }
  return 0;
}
