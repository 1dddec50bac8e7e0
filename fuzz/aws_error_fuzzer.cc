// AWS error answers, from raw bytes: the first byte picks the HTTP status
// (400..655) and whether an x-amzn-errortype header comes along; the rest is
// the body, decoded by DecodeError (XML, JSON or neither) and by the XML and
// JSON decoders on their own.
//
// Checks: an error answer always decodes to a code, so retries and messages
// never work from an empty one; a code taken from a JSON body or the header
// has its "prefix#" and ":suffix" removed; and a decoder that says it found
// an error found a code.
#include <cstddef>
#include <cstdint>
#include <string>

#include "aws/xml.h"
#include "fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ohfp::aws;
  if (size == 0) return 0;
  HttpResponse response;
  response.status = 400 + data[0];
  bool with_header = (data[0] & 1) != 0;
  response.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (with_header) {
    // The header carries the body's last line, so both sources get fuzzed.
    size_t newline = response.body.rfind('\n');
    std::string type = newline == std::string::npos ? "" : response.body.substr(newline + 1);
    response.headers.emplace_back("x-amzn-errortype", type);
  }

  AwsError error = DecodeError(response);
  FUZZ_CHECK(!error.code.empty(), response.body);

  AwsError xml_error;
  if (ParseXmlError(response.body, &xml_error)) FUZZ_CHECK(!xml_error.code.empty(), response.body);

  AwsError json_error;
  if (ParseJsonError(response.body, &json_error)) {
    FUZZ_CHECK(!json_error.code.empty(), response.body);
    FUZZ_CHECK(json_error.code.find_first_of("#:") == std::string::npos, json_error.code);
  }
  return 0;
}
