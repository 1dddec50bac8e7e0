// Requests and machines as JSON objects with the snake_case field names of
// model.h. The JSON file store keeps records in this form, and the same shape
// can serve any output that lists records field by field.
#pragma once

#include <nlohmann/json.hpp>

#include "core/model.h"
#include "core/status.h"

namespace ohfp {

/// Every field of `request`; kind and state as their names ("acquire", "in_progress").
nlohmann::json RequestToJson(const Request& request);

/// The request held by `j`; missing fields keep their defaults, a field of the
/// wrong type or an unknown kind/state fails with kInvalidRequest.
Result<Request> RequestFromJson(const nlohmann::json& j);

/// Every field of `machine`.
nlohmann::json MachineToJson(const Machine& machine);

/// The machine held by `j`; same rules as RequestFromJson.
Result<Machine> MachineFromJson(const nlohmann::json& j);

}  // namespace ohfp
