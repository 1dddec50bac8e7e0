// Host Factory input, as hostile as it gets: raw bytes, the way a -f file,
// --data or standard input hands them to the CLI (GatherInput), go through
// ParseInputText and then ParseCommand for every verb.
//
// Beyond "no crash" it checks that an accepted document respects the limits,
// prints and reads back as itself, that every parsed command is valid, and
// that the canonical input the command line builds for a command parses back
// to the same command.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "contract/command.h"
#include "fuzz/check.h"

namespace ohfp {
namespace {

using json = nlohmann::json;

constexpr Verb kVerbs[] = {Verb::kGetAvailableTemplates, Verb::kRequestMachines,
                           Verb::kRequestReturnMachines, Verb::kGetRequestStatus,
                           Verb::kGetReturnRequests,     Verb::kReconcile};

// Nesting of `value`: a scalar is 0, [] and {} are 1, [[]] is 2. Recursion is
// safe: a document deeper than the limit fails the check before it matters.
int Depth(const json& value) {
  if (!value.is_structured()) return 0;
  int deepest = 0;
  for (const json& child : value) deepest = std::max(deepest, Depth(child));
  return deepest + 1;
}

bool IsValidId(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

void CheckValid(const Command& command, Verb verb) {
  std::string where = VerbName(verb);
  FUZZ_CHECK(command.verb == verb, where);
  if (verb == Verb::kRequestMachines) {
    FUZZ_CHECK(IsValidId(command.template_id), where + " template " + command.template_id);
    FUZZ_CHECK(command.machine_count >= 1 && command.machine_count <= kMaxMachineCount,
               where + " count " + std::to_string(command.machine_count));
  } else {
    FUZZ_CHECK(command.template_id.empty() && command.machine_count == 0, where);
  }

  std::set<std::string> seen;
  for (const std::string& id : command.request_ids) {
    FUZZ_CHECK(IsValidId(id), where + " request id " + id);
    FUZZ_CHECK(seen.insert(id).second, where + " duplicate request id " + id);
  }
  FUZZ_CHECK(verb == Verb::kGetRequestStatus || command.request_ids.empty(), where);

  bool takes_machines = verb == Verb::kRequestReturnMachines || verb == Verb::kGetReturnRequests;
  FUZZ_CHECK(takes_machines || (command.machines.empty() && !command.machines_given), where);
  FUZZ_CHECK(command.machines_given || command.machines.empty(), where);
  FUZZ_CHECK(verb != Verb::kRequestReturnMachines || command.machines_given, where);
  FUZZ_CHECK(command.machines.size() <= kMaxListLength, where);
  for (const MachineRef& m : command.machines) {
    FUZZ_CHECK(!m.machine_id.empty() || !m.name.empty(), where + " machine names nothing");
    FUZZ_CHECK(m.machine_id.empty() || IsValidId(m.machine_id), where + " " + m.machine_id);
    FUZZ_CHECK(m.name.empty() || IsValidId(m.name), where + " " + m.name);
  }
}

// The input the command line builds for `command`, in its camelCase shape.
json CanonicalInput(const Command& command) {
  switch (command.verb) {
    case Verb::kGetAvailableTemplates:
    case Verb::kReconcile:
      return json::object();
    case Verb::kRequestMachines:
      return {{"template",
               {{"templateId", command.template_id}, {"machineCount", command.machine_count}}}};
    case Verb::kGetRequestStatus: {
      json requests = json::array();
      for (const std::string& id : command.request_ids) requests.push_back({{"requestId", id}});
      return {{"requests", requests}};
    }
    case Verb::kRequestReturnMachines:
    case Verb::kGetReturnRequests: {
      if (!command.machines_given) return json::object();
      json machines = json::array();
      for (const MachineRef& m : command.machines) {
        json ref = json::object();
        if (!m.machine_id.empty()) ref["machineId"] = m.machine_id;
        if (!m.name.empty()) ref["name"] = m.name;
        machines.push_back(ref);
      }
      return {{"machines", machines}};
    }
  }
  return json::object();
}

bool SameCommand(const Command& a, const Command& b) {
  if (a.machines.size() != b.machines.size()) return false;
  for (size_t i = 0; i < a.machines.size(); ++i) {
    if (a.machines[i].machine_id != b.machines[i].machine_id) return false;
    if (a.machines[i].name != b.machines[i].name) return false;
  }
  return a.verb == b.verb && a.template_id == b.template_id && a.machine_count == b.machine_count &&
         a.machines_given == b.machines_given && a.request_ids == b.request_ids;
}

void CheckDocument(const json& document) {
  FUZZ_CHECK(Depth(document) <= kMaxJsonDepth,
             "accepted a document nested " + std::to_string(Depth(document)) + " deep");

  // Logs and error details print input documents; what prints must read
  // back as the same document.
  std::string printed = document.dump();
  Result<json> again = ParseInputText(printed);
  FUZZ_CHECK(again.ok(), again.status().ToString() + " for " + printed);
  FUZZ_CHECK(*again == document, printed);
}

void CheckCommands(const json& document) {
  for (Verb verb : kVerbs) {
    Result<Command> command = ParseCommand(verb, document);
    if (!command.ok()) {
      FUZZ_CHECK(command.status().code() == ErrorCode::kInvalidRequest,
                 command.status().ToString());
      FUZZ_CHECK(!command.status().message().empty(), VerbName(verb));
      continue;
    }
    CheckValid(*command, verb);

    json canonical = CanonicalInput(*command);
    Result<Command> again = ParseCommand(verb, canonical);
    FUZZ_CHECK(again.ok(), again.status().ToString() + " for " + canonical.dump());
    FUZZ_CHECK(SameCommand(*command, *again), canonical.dump());
  }
}

}  // namespace
}  // namespace ohfp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ohfp;
  std::string text(reinterpret_cast<const char*>(data), size);

  Result<nlohmann::json> document = ParseInputText(text);
  if (!document.ok()) {
    FUZZ_CHECK(document.status().code() == ErrorCode::kInvalidRequest,
               document.status().ToString());
    return 0;
  }
  CheckDocument(*document);
  CheckCommands(*document);
  return 0;
}
