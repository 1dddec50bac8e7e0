#include "core/json_limits.h"

namespace ohfp {

nlohmann::json::parser_callback_t LimitDepth(int max_depth, bool* too_deep) {
  using json = nlohmann::json;
  *too_deep = false;
  // The callback's depth counts the containers around the event, so the
  // container that opens level max_depth + 1 starts at depth max_depth;
  // values and closing events open no level.
  return [max_depth, too_deep](int depth, json::parse_event_t event, json&) {
    bool opens =
        event == json::parse_event_t::array_start || event == json::parse_event_t::object_start;
    if (opens && depth >= max_depth) *too_deep = true;
    return !*too_deep;
  };
}

}  // namespace ohfp
