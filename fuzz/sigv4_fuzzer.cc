// SigV4 canonicalisation, from raw bytes in the test suite's .req format
// (request line, headers, blank line, body), so the suite's own requests are
// the seed corpus. Each input is signed as a SigningInput and, with its
// target appended to an endpoint URL, through SignRequest.
//
// Checks that the canonical request has SigV4's shape whatever the input:
// a path of unreserved characters, '/' and %XX with no empty, "." or ".."
// segment; a query of sorted name=value pairs that canonicalises to itself;
// signed headers lower case, sorted, unique, one line each; a 64-hex
// signature; and that a signed request carries exactly one Authorization
// and X-Amz-Date.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aws/aws_client.h"
#include "aws/sigv4.h"
#include "fuzz/check.h"
#include "support/sigv4_request_text.h"

namespace ohfp::aws {
namespace {

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

// An HTTP header name (RFC 9110 token).
bool IsToken(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool IsHex(unsigned char c) { return std::isdigit(c) || (c >= 'A' && c <= 'F'); }

// Unreserved characters and %XX escapes (upper-case hex) only.
bool IsEncoded(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if (IsUnreserved(c)) continue;
    if (c != '%' || i + 2 >= text.size() || !IsHex(text[i + 1]) || !IsHex(text[i + 2])) {
      return false;
    }
    i += 2;
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

void CheckUri(const std::string& uri, const std::string& path) {
  FUZZ_CHECK(!uri.empty() && uri[0] == '/', uri);
  if (uri == "/") return;
  std::vector<std::string_view> segments = Split(std::string_view(uri).substr(1), '/');
  if (segments.back().empty()) segments.pop_back();  // the trailing '/' kept
  for (std::string_view segment : segments) {
    FUZZ_CHECK(!segment.empty() && segment != "." && segment != "..", uri + " from " + path);
    FUZZ_CHECK(IsEncoded(segment), uri + " from " + path);
  }
}

void CheckQuery(const std::string& canonical, const std::string& query) {
  FUZZ_CHECK(CanonicalQueryString(canonical) == canonical, canonical + " from " + query);
  if (canonical.empty()) return;
  std::string_view previous;
  for (std::string_view pair : Split(canonical, '&')) {
    size_t eq = pair.find('=');
    FUZZ_CHECK(eq != std::string_view::npos, canonical);
    FUZZ_CHECK(IsEncoded(pair.substr(0, eq)) && IsEncoded(pair.substr(eq + 1)), canonical);
    FUZZ_CHECK(previous <= pair.substr(0, eq) || previous.empty(), canonical);
    previous = pair.substr(0, eq);
  }
}

void CheckHeaders(const std::string& block, const std::string& signed_headers) {
  std::vector<std::string_view> names;
  if (!signed_headers.empty()) names = Split(signed_headers, ';');
  for (size_t i = 0; i < names.size(); ++i) {
    FUZZ_CHECK(IsSignedHeader(names[i]), signed_headers);
    for (unsigned char c : names[i]) FUZZ_CHECK(!std::isupper(c), signed_headers);
    FUZZ_CHECK(i == 0 || names[i - 1] < names[i], signed_headers);
  }
  // One "name:value\n" line per signed header, in the same order.
  size_t lines = 0;
  size_t start = 0;
  while (start < block.size()) {
    size_t end = block.find('\n', start);
    FUZZ_CHECK(end != std::string::npos, block);
    std::string_view line(block.data() + start, end - start);
    FUZZ_CHECK(lines < names.size() &&
                   line.substr(0, names[lines].size() + 1) == std::string(names[lines]) + ":",
               block);
    ++lines;
    start = end + 1;
  }
  FUZZ_CHECK(lines == names.size(), block + " vs " + signed_headers);
}

Credentials SuiteCredentials() {
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  return c;
}

void CheckSignature(const SigningInput& input) {
  SigningResult result = ComputeSignature(input, SuiteCredentials(), "us-east-1", "service");
  FUZZ_CHECK(result.signature.size() == 64, result.signature);
  for (unsigned char c : result.signature) FUZZ_CHECK(std::isxdigit(c) && !std::isupper(c), "");
  FUZZ_CHECK(result.canonical_request.rfind(input.method + "\n", 0) == 0, "method first");

  std::string signed_headers;
  std::string uri = CanonicalUri(input.path.empty() ? "/" : input.path);
  std::string query = CanonicalQueryString(input.query);
  std::string headers = CanonicalHeaders(input.headers, &signed_headers);
  FUZZ_CHECK(signed_headers == result.signed_headers, signed_headers);
  FUZZ_CHECK(result.canonical_request == input.method + "\n" + uri + "\n" + query + "\n" + headers +
                                             "\n" + signed_headers + "\n" + Sha256Hex(input.body),
             result.canonical_request);
  CheckUri(uri, input.path);
  CheckQuery(query, input.query);
  CheckHeaders(headers, signed_headers);
}

void CheckSignRequest(const SigningInput& input) {
  HttpRequest request;
  request.method = input.method;
  request.url = "https://example.amazonaws.com" + input.path;
  if (!input.query.empty()) request.url += "?" + input.query;
  request.headers = input.headers;
  request.body = input.body;
  Credentials credentials = SuiteCredentials();
  credentials.session_token = "token";
  if (!SignRequest(&request, credentials, "us-east-1", "service", 1440938160).ok()) return;

  int authorizations = 0;
  int dates = 0;
  for (const auto& [name, value] : request.headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    authorizations += lower == "authorization";
    dates += lower == "x-amz-date";
  }
  FUZZ_CHECK(authorizations == 1 && dates == 1, request.url);
}

}  // namespace
}  // namespace ohfp::aws

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ohfp::aws;
  std::string text(reinterpret_cast<const char*>(data), size);
  SigningInput input = ohfp::testsupport::ParseRequestText(text);
  // Header names are HTTP tokens: the client only signs headers it wrote.
  std::erase_if(input.headers, [](const auto& header) { return !IsToken(header.first); });
  CheckSignature(input);
  CheckSignRequest(input);
  return 0;
}
