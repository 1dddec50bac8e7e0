// The request files of the AWS SigV4 test suite (*.req): a request line, header
// lines, a blank line and the body. Shared by the SigV4 test and fuzzer.
#pragma once

#include <string>

#include "aws/sigv4.h"

namespace ohfp::testsupport {

/// Reads `text` in the suite's .req format: "METHOD target HTTP/1.1", then
/// "Name:value" lines (a line starting with a blank continues the previous
/// value), a blank line, and the body. The target splits at '?' into path
/// and query. Never fails: malformed text gives whatever parts it has.
aws::SigningInput ParseRequestText(const std::string& text);

}  // namespace ohfp::testsupport
