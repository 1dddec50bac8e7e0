// Percent-encodings used on the AWS wire. A form body (the Query and EC2
// protocols) and a SigV4 canonical query string escape differently, and a
// signature check that re-encodes the body only accepts the form that
// botocore writes, so both live here side by side.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ohfp::aws {

/// Name/value pairs of a form body, in the order they are written.
using FormParams = std::vector<std::pair<std::string, std::string>>;

/// Encodes one form name or value as botocore does: [A-Za-z0-9_.~-] unchanged,
/// space as '+', every other byte as %XX (upper-case hex).
std::string FormEncode(std::string_view text);

/// Joins `params` into an application/x-www-form-urlencoded body, "n=v&n=v",
/// encoding each name and value with FormEncode.
std::string EncodeFormBody(const FormParams& params);

/// RFC 3986 encoding: [A-Za-z0-9_.~-] unchanged, every other byte (space
/// included) as %XX; '/' is kept only when `keep_slash` is true.
std::string UriEncode(std::string_view text, bool keep_slash = false);

/// Decodes %XX escapes (a malformed escape is kept literally); '+' is left
/// alone unless `plus_is_space`.
std::string PercentDecode(std::string_view text, bool plus_is_space = false);

/// Splits a form body or query string into decoded pairs ("a=1&b" gives
/// {a,1},{b,""}); '+' decodes to a space.
FormParams ParseFormBody(std::string_view body);

}  // namespace ohfp::aws
