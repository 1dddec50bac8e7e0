#include "aws/sigv4.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <vector>

#include "aws/endpoints.h"
#include "aws/form.h"
#include "aws/sha256.h"
#include "core/ascii.h"

namespace ohfp::aws {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string NormalizeHeaderValue(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

void RemoveHeader(Headers* headers, std::string_view lower_name) {
  headers->erase(std::remove_if(headers->begin(), headers->end(),
                                [&](const auto& h) { return AsciiLower(h.first) == lower_name; }),
                 headers->end());
}

}  // namespace

bool IsSignedHeader(std::string_view name) {
  static const char* const kUnsigned[] = {
      "authorization",     "content-length",  "user-agent",      "expect",
      "transfer-encoding", "connection",      "x-amzn-trace-id", "amz-sdk-invocation-id",
      "amz-sdk-request",   "accept-encoding",
  };
  std::string lower = AsciiLower(name);
  for (const char* u : kUnsigned) {
    if (lower == u) return false;
  }
  return true;
}

std::string HexEncode(std::string_view data) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0f]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  Sha256Digest digest = Sha256Of(data);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string CanonicalUri(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }

  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out += UriEncode(segments[i]);
  }
  bool trailing_slash = !path.empty() && path.back() == '/';
  if (trailing_slash && !segments.empty()) out.push_back('/');
  return out;
}

std::string CanonicalQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(start, end - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string_view name = pair.substr(0, eq);
      std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
      pairs.emplace_back(UriEncode(PercentDecode(name)), UriEncode(PercentDecode(value)));
    }
    start = end + 1;
  }
  std::sort(pairs.begin(), pairs.end());

  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::string CanonicalHeaders(const Headers& headers, std::string* signed_headers) {
  // std::map sorts names by byte order, which is what SigV4 asks for.
  std::map<std::string, std::string> merged;
  for (const auto& [name, value] : headers) {
    if (!IsSignedHeader(name)) continue;
    std::string key = AsciiLower(name);
    auto [it, inserted] = merged.emplace(key, NormalizeHeaderValue(value));
    if (!inserted) it->second += "," + NormalizeHeaderValue(value);
  }

  std::string out;
  signed_headers->clear();
  for (const auto& [name, value] : merged) {
    out += name + ":" + value + "\n";
    if (!signed_headers->empty()) signed_headers->push_back(';');
    *signed_headers += name;
  }
  return out;
}

std::string BuildCanonicalRequest(const SigningInput& input, std::string* signed_headers) {
  std::string out = input.method;
  out += "\n";
  out += CanonicalUri(input.path.empty() ? "/" : input.path);
  out += "\n";
  out += CanonicalQueryString(input.query);
  out += "\n";
  out += CanonicalHeaders(input.headers, signed_headers);
  out += "\n";
  out += *signed_headers;
  out += "\n";
  out += Sha256Hex(input.body);
  return out;
}

std::string CredentialScope(std::string_view amz_date, std::string_view region,
                            std::string_view service) {
  std::string scope(amz_date.substr(0, 8));
  scope += "/";
  scope += region;
  scope += "/";
  scope += service;
  scope += "/aws4_request";
  return scope;
}

std::string BuildStringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request) {
  std::string out = "AWS4-HMAC-SHA256\n";
  out += amz_date;
  out += "\n";
  out += scope;
  out += "\n";
  out += Sha256Hex(canonical_request);
  return out;
}

std::string DeriveSigningKey(std::string_view secret, std::string_view date,
                             std::string_view region, std::string_view service) {
  std::string k_date = HmacSha256("AWS4" + std::string(secret), date);
  std::string k_region = HmacSha256(k_date, region);
  std::string k_service = HmacSha256(k_region, service);
  return HmacSha256(k_service, "aws4_request");
}

SigningResult ComputeSignature(const SigningInput& input, const Credentials& credentials,
                               std::string_view region, std::string_view service) {
  std::string amz_date;
  for (const auto& [name, value] : input.headers) {
    if (AsciiLower(name) == "x-amz-date") amz_date = NormalizeHeaderValue(value);
  }

  SigningResult result;
  result.canonical_request = BuildCanonicalRequest(input, &result.signed_headers);
  std::string scope = CredentialScope(amz_date, region, service);
  result.string_to_sign = BuildStringToSign(amz_date, scope, result.canonical_request);
  std::string key =
      DeriveSigningKey(credentials.secret_access_key, amz_date.substr(0, 8), region, service);
  result.signature = HexEncode(HmacSha256(key, result.string_to_sign));
  result.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                         ", SignedHeaders=" + result.signed_headers +
                         ", Signature=" + result.signature;
  return result;
}

std::string FormatAmzDate(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Status SignRequest(HttpRequest* request, const Credentials& credentials, std::string_view region,
                   std::string_view service, int64_t epoch_seconds, SignOptions options) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::InvalidRequest("cannot sign a request without an access key");
  }
  Result<Url> url = ParseUrl(request->url);
  if (!url.ok()) return Status::InvalidRequest(url.status().message());

  RemoveHeader(&request->headers, "authorization");
  RemoveHeader(&request->headers, "x-amz-date");
  RemoveHeader(&request->headers, "x-amz-security-token");
  request->headers.emplace_back("X-Amz-Date", FormatAmzDate(epoch_seconds));
  bool has_token = !credentials.session_token.empty();
  if (has_token && options.sign_session_token) {
    request->headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }

  SigningInput input{request->method, url->path, url->query, request->headers, request->body};
  SigningResult signature = ComputeSignature(input, credentials, region, service);
  request->headers.emplace_back("Authorization", signature.authorization);
  if (has_token && !options.sign_session_token) {
    request->headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  return Status();
}

std::string HeadersForLog(const Headers& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    std::string lower = AsciiLower(name);
    std::string shown = value;
    if (lower == "x-amz-security-token") {
      shown = "<redacted>";
    } else if (lower == "authorization") {
      // "AWS4-HMAC-SHA256 Credential=KEY/scope, SignedHeaders=…, Signature=HEX":
      // the scope and signed headers help; the key id and signature do not.
      size_t scope = value.find('/');
      size_t signed_headers = value.find(", SignedHeaders=");
      size_t signature = value.find(", Signature=");
      shown = "AWS4-HMAC-SHA256 Credential=<redacted>";
      if (scope != std::string::npos && signed_headers != std::string::npos &&
          scope < signed_headers) {
        shown += value.substr(
            scope, signature != std::string::npos ? signature - scope : std::string::npos);
      }
      shown += ", Signature=<redacted>";
    }
    if (!out.empty()) out += "; ";
    out += name + ": " + shown;
  }
  return out;
}

}  // namespace ohfp::aws
