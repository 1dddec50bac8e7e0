// Lenient readers for hand-written JSON configuration: administrators (and
// IBM's own samples) write numbers and booleans as strings, so the config
// layer reads values by meaning rather than by JSON type. Internal to
// src/config.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace ohfp {

/// `s` without leading and trailing blanks (space, tab, CR, LF).
std::string TrimBlanks(std::string_view s);

/// True when `s` is a plain decimal number ("2", "-1", "0.5", "1e3"); no hex,
/// no inf/nan, no surrounding blanks.
bool LooksNumeric(std::string_view s);

/// An integer given as a JSON integer, an integral JSON float (40.0) or a
/// decimal string ("40", " 40 "); nullopt for anything else or on overflow.
std::optional<int64_t> ToInt64(const nlohmann::json& value);

/// A finite number given as a JSON number or a numeric string; else nullopt.
std::optional<double> ToDouble(const nlohmann::json& value);

/// A boolean given as true/false, "true"/"false" (any case), "1"/"0" or 1/0;
/// else nullopt.
std::optional<bool> ToBool(const nlohmann::json& value);

/// A short rendering of `value` for an error message (strings quoted, long
/// values cut). Never use it on a secret.
std::string DescribeValue(const nlohmann::json& value);

/// Replaces $NAME and ${NAME} with their values from `env`; references to
/// names not in `env` are left as written so the mistake stays visible.
std::string ExpandVariables(std::string_view text, const std::map<std::string, std::string>& env);

/// How deep configuration files may nest arrays and objects: far more than
/// any real template or config file needs, far less than overflows a stack.
inline constexpr int kMaxConfigJsonDepth = 64;

/// Parses `text`, the contents of the file at `path`, as one JSON document
/// no deeper than kMaxConfigJsonDepth.
/// Failures are kConfigurationError naming the path; a syntax error gives its
/// line and column, and its nearby text only when `show_text` (never for
/// files that may hold secrets).
Result<nlohmann::json> ParseJsonText(const std::string& text, const std::string& path,
                                     bool show_text);

/// The whole contents of the file at `path`; kConfigurationError naming the
/// path when it cannot be opened or read.
Result<std::string> ReadTextFile(const std::string& path);

}  // namespace ohfp
