#include "contract/command.h"

#include <cmath>
#include <initializer_list>
#include <set>

#include "core/json_limits.h"

namespace ohfp {

namespace {

using json = nlohmann::json;

const json* FindKey(const json& object, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    auto it = object.find(key);
    if (it != object.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

Status Invalid(const std::string& message) { return Status::InvalidRequest(message); }

Result<std::string> GetIdString(const json& value, const std::string& what) {
  if (!value.is_string()) return Invalid(what + " must be a string");
  const std::string& s = value.get_ref<const std::string&>();
  if (s.empty()) return Invalid(what + " must not be empty");
  if (s.size() > kMaxIdLength) {
    return Invalid(what + " is longer than " + std::to_string(kMaxIdLength) + " characters");
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return Invalid(what + " contains a control character");
  }
  return s;
}

Result<int64_t> GetCount(const json& value, const std::string& what) {
  int64_t n = 0;
  if (value.is_number_integer()) {
    n = value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX)
            ? INT64_MAX
            : value.get<int64_t>();
  } else if (value.is_number_float()) {
    double d = value.get<double>();
    if (!std::isfinite(d) || d != std::floor(d)) return Invalid(what + " must be a whole number");
    n = std::fabs(d) > 1e15 ? INT64_MAX : static_cast<int64_t>(d);
  } else {
    return Invalid(what + " must be a number");
  }
  if (n < 1) return Invalid(what + " must be at least 1");
  if (n > kMaxMachineCount) {
    return Invalid(what + " must be at most " + std::to_string(kMaxMachineCount));
  }
  return n;
}

/// The contract allows one object where a list is expected.
Result<std::vector<const json*>> ObjectOrArray(const json& value, const std::string& what) {
  std::vector<const json*> items;
  if (value.is_object()) {
    items.push_back(&value);
  } else if (value.is_array()) {
    if (value.size() > kMaxListLength) {
      return Invalid(what + " lists more than " + std::to_string(kMaxListLength) + " entries");
    }
    for (const json& item : value) items.push_back(&item);
  } else {
    return Invalid(what + " must be an object or an array");
  }
  return items;
}

Result<std::vector<MachineRef>> ParseMachines(const json& value) {
  auto items = ObjectOrArray(value, "machines");
  if (!items.ok()) return items.status();
  std::vector<MachineRef> machines;
  for (size_t i = 0; i < items->size(); ++i) {
    const json& item = *(*items)[i];
    std::string where = "machines[" + std::to_string(i) + "]";
    if (!item.is_object()) return Invalid(where + " must be an object");
    MachineRef ref;
    if (const json* id = FindKey(item, {"machineId", "machine_id"})) {
      auto s = GetIdString(*id, where + ".machineId");
      if (!s.ok()) return s.status();
      ref.machine_id = *s;
    }
    if (const json* name = FindKey(item, {"name", "machine_name"})) {
      auto s = GetIdString(*name, where + ".name");
      if (!s.ok()) return s.status();
      ref.name = *s;
    }
    if (ref.machine_id.empty() && ref.name.empty()) {
      return Invalid(where + " names neither machineId nor name");
    }
    machines.push_back(std::move(ref));
  }
  return machines;
}

Status ParseRequestMachines(const json& input, Command* cmd) {
  const json* spec = &input;
  if (const json* t = FindKey(input, {"template"})) {
    if (!t->is_object()) return Invalid("template must be an object");
    spec = t;
  }
  const json* id = FindKey(*spec, {"templateId", "template_id"});
  if (id == nullptr) return Invalid("templateId is missing");
  auto template_id = GetIdString(*id, "templateId");
  if (!template_id.ok()) return template_id.status();
  cmd->template_id = *template_id;

  const json* count =
      FindKey(*spec, {"machineCount", "machine_count", "requested_count", "count", "maxNumber"});
  if (count == nullptr) return Invalid("machineCount is missing");
  auto n = GetCount(*count, "machineCount");
  if (!n.ok()) return n.status();
  cmd->machine_count = *n;
  return Status();
}

Status ParseGetRequestStatus(const json& input, Command* cmd) {
  std::vector<const json*> items;
  if (const json* requests = FindKey(input, {"requests"})) {
    auto list = ObjectOrArray(*requests, "requests");
    if (!list.ok()) return list.status();
    items = std::move(*list);
  } else if (FindKey(input, {"requestId", "request_id"}) != nullptr) {
    items.push_back(&input);
  } else {
    return Invalid("requests is missing");
  }

  std::set<std::string> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const json& item = *items[i];
    std::string where = "requests[" + std::to_string(i) + "]";
    const json* id = item.is_string() ? &item : nullptr;
    if (item.is_object()) id = FindKey(item, {"requestId", "request_id"});
    if (id == nullptr) return Invalid(where + ".requestId is missing");
    auto s = GetIdString(*id, where + ".requestId");
    if (!s.ok()) return s.status();
    if (seen.insert(*s).second) cmd->request_ids.push_back(*s);
  }
  return Status();
}

}  // namespace

const char* VerbName(Verb verb) {
  switch (verb) {
    case Verb::kGetAvailableTemplates:
      return "getAvailableTemplates";
    case Verb::kRequestMachines:
      return "requestMachines";
    case Verb::kRequestReturnMachines:
      return "requestReturnMachines";
    case Verb::kGetRequestStatus:
      return "getRequestStatus";
    case Verb::kGetReturnRequests:
      return "getReturnRequests";
    case Verb::kReconcile:
      return "reconcile";
  }
  return "";
}

std::optional<Verb> ParseVerb(const std::string& name) {
  for (Verb v : {Verb::kGetAvailableTemplates, Verb::kRequestMachines, Verb::kRequestReturnMachines,
                 Verb::kGetRequestStatus, Verb::kGetReturnRequests, Verb::kReconcile}) {
    if (name == VerbName(v)) return v;
  }
  return std::nullopt;
}

Result<json> ParseInputText(const std::string& text) {
  if (text.size() > kMaxInputBytes) {
    return Invalid("input is larger than " + std::to_string(kMaxInputBytes) + " bytes");
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();

  // Depth is checked while parsing so a hostile document is rejected before
  // it is built.
  bool too_deep = false;
  json::parser_callback_t limit_depth = LimitDepth(kMaxJsonDepth, &too_deep);
  try {
    json doc = json::parse(text, limit_depth, /*allow_exceptions=*/true);
    if (too_deep) {
      return Invalid("input nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    return doc;
  } catch (const json::exception& e) {
    if (too_deep) {
      return Invalid("input nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    return Invalid(std::string("input is not valid JSON: ") + e.what());
  }
}

Result<Command> ParseCommand(Verb verb, const json& input) {
  Command cmd;
  cmd.verb = verb;
  if (!input.is_object()) return Invalid("input must be a JSON object");

  Status s;
  switch (verb) {
    case Verb::kGetAvailableTemplates:
    case Verb::kReconcile:
      break;  // Host Factory sends {}; any content is ignored.
    case Verb::kRequestMachines:
      s = ParseRequestMachines(input, &cmd);
      break;
    case Verb::kGetRequestStatus:
      s = ParseGetRequestStatus(input, &cmd);
      break;
    case Verb::kRequestReturnMachines: {
      const json* machines = FindKey(input, {"machines"});
      if (machines == nullptr) return Invalid("machines is missing");
      auto refs = ParseMachines(*machines);
      if (!refs.ok()) return refs.status();
      cmd.machines = std::move(*refs);
      cmd.machines_given = true;
      break;
    }
    case Verb::kGetReturnRequests: {
      if (const json* machines = FindKey(input, {"machines"})) {
        auto refs = ParseMachines(*machines);
        if (!refs.ok()) return refs.status();
        cmd.machines = std::move(*refs);
        cmd.machines_given = true;
      }
      break;
    }
  }
  if (!s.ok()) return s;
  return cmd;
}

}  // namespace ohfp
