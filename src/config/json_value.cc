#include "config/json_value.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/ascii.h"
#include "core/json_limits.h"

namespace ohfp {

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::optional<int64_t> ParseInt64(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return std::string(s);
}

bool LooksNumeric(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

std::optional<int64_t> ToInt64(const nlohmann::json& value) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return std::nullopt;
    }
    return value.get<int64_t>();
  }
  if (value.is_number_float()) {
    double d = value.get<double>();
    // 2^63 itself is not representable as int64_t, hence the strict bound.
    if (!std::isfinite(d) || d != std::trunc(d) || d < -9.2e18 || d > 9.2e18) {
      return std::nullopt;
    }
    return static_cast<int64_t>(d);
  }
  if (value.is_string()) return ParseInt64(TrimBlanks(value.get_ref<const std::string&>()));
  return std::nullopt;
}

std::optional<double> ToDouble(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  std::string s = TrimBlanks(value.get_ref<const std::string&>());
  if (!LooksNumeric(s)) return std::nullopt;
  // strtod, not from_chars: libstdc++ 12 has the double overload but the
  // leading '+' that LooksNumeric allows is rejected by from_chars.
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<bool> ToBool(const nlohmann::json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v == 0 || v == 1) return v == 1;
    return std::nullopt;
  }
  if (!value.is_string()) return std::nullopt;
  std::string s = AsciiLower(TrimBlanks(value.get_ref<const std::string&>()));
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0") return false;
  return std::nullopt;
}

std::string DescribeValue(const nlohmann::json& value) {
  constexpr size_t kMax = 40;
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMax) {
    // Cut on a character boundary: messages end up in JSON answers, which
    // must stay UTF-8. Continuation bytes look like 10xxxxxx.
    size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return text;
}

std::string ExpandVariables(std::string_view text, const std::map<std::string, std::string>& env) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      out += text[i++];
      continue;
    }
    std::string_view name;
    size_t ref_end = i + 1;
    if (ref_end < text.size() && text[ref_end] == '{') {
      size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        out += text.substr(i);
        break;
      }
      name = text.substr(i + 2, close - (i + 2));
      ref_end = close + 1;
    } else if (ref_end < text.size() && IsNameStart(text[ref_end])) {
      while (ref_end < text.size() && IsNameChar(text[ref_end])) ++ref_end;
      name = text.substr(i + 1, ref_end - (i + 1));
    }
    if (name.empty()) {  // a lone '$' (or "${}") is just text
      out += text[i++];
      continue;
    }
    auto it = env.find(std::string(name));
    out += it != env.end() ? std::string_view(it->second) : text.substr(i, ref_end - i);
    i = ref_end;
  }
  return out;
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Configuration("cannot open " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::Configuration("cannot read " + path);
  return buffer.str();
}

Result<nlohmann::json> ParseJsonText(const std::string& text, const std::string& path,
                                     bool show_text) {
  bool too_deep = false;
  auto too_deep_error = [&path] {
    return Status::Configuration("invalid JSON in " + path + ": nests deeper than " +
                                 std::to_string(kMaxConfigJsonDepth) + " levels");
  };
  try {
    nlohmann::json document =
        nlohmann::json::parse(text, LimitDepth(kMaxConfigJsonDepth, &too_deep));
    if (too_deep) return too_deep_error();
    return document;
  } catch (const nlohmann::json::parse_error& e) {
    if (too_deep) return too_deep_error();
    // Line and column are recomputed from the byte offset so that the
    // message never depends on the library quoting the text it choked on.
    size_t line = 1;
    size_t column = 1;
    size_t stop = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (size_t k = 0; k < stop; ++k) {
      if (text[k] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string message = "invalid JSON in " + path + " at line " + std::to_string(line) +
                          ", column " + std::to_string(column);
    if (show_text) {
      std::string what = e.what();
      size_t colon = what.find(": ");
      if (colon != std::string::npos) message += ": " + what.substr(colon + 2);
    }
    return Status::Configuration(message);
  } catch (const nlohmann::json::exception& e) {
    return Status::Configuration("invalid JSON in " + path);
  }
}

}  // namespace ohfp
