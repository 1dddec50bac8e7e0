// Nesting limits for JSON read from outside. nlohmann's parser is iterative,
// but copying, comparing, printing and destroying a document recurse once per
// level, so a deep enough document overflows the stack long after it parsed.
#pragma once

#include <nlohmann/json.hpp>

namespace ohfp {

/// A parser callback for nlohmann::json::parse that keeps documents within
/// `max_depth` levels of arrays and objects ([] is one level, [[]] two):
/// once a container would open below that, it sets `*too_deep` and discards
/// everything after, so the hostile part is never built. The caller checks
/// `*too_deep` after parsing (and after a parse error, which may follow).
nlohmann::json::parser_callback_t LimitDepth(int max_depth, bool* too_deep);

}  // namespace ohfp
