// Case folding for protocol and configuration text, which is ASCII: header
// names, enumerations, environment names. Bytes outside A-Z/a-z are kept
// as they are, whatever the locale.
#pragma once

#include <string>
#include <string_view>

namespace ohfp {

std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);
bool EqualsIgnoringCase(std::string_view a, std::string_view b);

}  // namespace ohfp
