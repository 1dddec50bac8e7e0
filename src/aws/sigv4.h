// AWS Signature Version 4 for header-signed requests. Each step is exposed
// on its own so that tests can compare it with the published test suite.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "aws/aws_client.h"
#include "aws/http_transport.h"

namespace ohfp::aws {

/// The parts of a request that SigV4 covers.
struct SigningInput {
  std::string method;  // upper case, e.g. "POST"
  std::string path;    // as sent, before normalization; "" means "/"
  std::string query;   // as sent, without '?'
  Headers headers;     // all headers; IsSignedHeader() picks the signed ones
  std::string body;
};

/// The intermediate products and the result of signing one request.
struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "content-type;host;x-amz-date"
  std::string signature;       // lower-case hex
  std::string authorization;   // the Authorization header value
};

/// Whether a header (any case) takes part in the signature; hop-by-hop and
/// SDK bookkeeping headers (content-length, user-agent, expect, authorization,
/// amz-sdk-*...) do not.
bool IsSignedHeader(std::string_view name);

/// Lower-case hex of the SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

/// Lower-case hex of the bytes in `data`.
std::string HexEncode(std::string_view data);

/// The canonical URI: "." and ".." segments resolved, empty segments
/// dropped (a trailing '/' kept), each segment RFC 3986-encoded.
std::string CanonicalUri(std::string_view path);

/// The canonical query string: pairs decoded, re-encoded (RFC 3986), sorted
/// by name then value, joined with '&'; "a" becomes "a=".
std::string CanonicalQueryString(std::string_view query);

/// The canonical header block (one "name:value\n" per signed header, sorted,
/// values trimmed with inner space runs collapsed and repeats comma-joined);
/// stores the signed-header list in `*signed_headers`.
std::string CanonicalHeaders(const Headers& headers, std::string* signed_headers);

/// `headers` as one line fit for a log: the access key id and signature in
/// Authorization and the whole session token are replaced by "<redacted>".
std::string HeadersForLog(const Headers& headers);

/// The canonical request of `input`; stores the signed-header list in
/// `*signed_headers`.
std::string BuildCanonicalRequest(const SigningInput& input, std::string* signed_headers);

/// "yyyymmdd/<region>/<service>/aws4_request".
std::string CredentialScope(std::string_view amz_date, std::string_view region,
                            std::string_view service);

/// The string to sign for a canonical request at `amz_date` ("20150830T123600Z").
std::string BuildStringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request);

/// The raw 32-byte signing key for (secret, yyyymmdd, region, service).
std::string DeriveSigningKey(std::string_view secret, std::string_view date,
                             std::string_view region, std::string_view service);

/// Signs `input` whose X-Amz-Date header gives the time; `credentials`'
/// session token is not added here (put it in `input.headers` to sign it).
SigningResult ComputeSignature(const SigningInput& input, const Credentials& credentials,
                               std::string_view region, std::string_view service);

/// "20150830T123600Z" for an epoch second.
std::string FormatAmzDate(int64_t epoch_seconds);

struct SignOptions {
  /// Sign X-Amz-Security-Token (all services this client talks to want it);
  /// when false it is added after signing.
  bool sign_session_token = true;
};

/// Signs `request` in place: sets X-Amz-Date from `epoch_seconds`,
/// X-Amz-Security-Token when `credentials` carry a session token, and
/// Authorization. The Host header must already be present and match the URL.
/// Fails (kInvalidRequest) only on a malformed URL or missing keys.
Status SignRequest(HttpRequest* request, const Credentials& credentials, std::string_view region,
                   std::string_view service, int64_t epoch_seconds, SignOptions options = {});

}  // namespace ohfp::aws
