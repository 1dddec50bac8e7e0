// The Host Factory contract, input side: turns any input form (a -f file,
// standard input, --data, command-line arguments) into one typed command.
// Both key conventions are accepted: Host Factory camelCase and the
// snake_case "default" convention, object-or-array where the contract allows.
// No I/O besides what the caller hands in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace ohfp {

enum class Verb {
  kGetAvailableTemplates,
  kRequestMachines,
  kRequestReturnMachines,
  kGetRequestStatus,
  kGetReturnRequests,
  kReconcile,  // not a Host Factory verb: finds cloud resources no request owns
};

/// "getAvailableTemplates", …
const char* VerbName(Verb verb);
std::optional<Verb> ParseVerb(const std::string& name);

/// A host as Host Factory names it: by cloud id, by host name, or both.
struct MachineRef {
  std::string machine_id;
  std::string name;
};

struct Command {
  Verb verb = Verb::kGetAvailableTemplates;
  std::string template_id;               // requestMachines
  int64_t machine_count = 0;             // requestMachines
  std::vector<MachineRef> machines;      // requestReturnMachines, getReturnRequests
  bool machines_given = false;           // getReturnRequests: input listed hosts
  std::vector<std::string> request_ids;  // getRequestStatus (deduplicated, in order)
};

/// Limits that keep hostile input from costing memory or time.
inline constexpr size_t kMaxInputBytes = 16 * 1024 * 1024;
inline constexpr int kMaxJsonDepth = 32;
inline constexpr size_t kMaxIdLength = 256;
inline constexpr size_t kMaxListLength = 20000;
inline constexpr int64_t kMaxMachineCount = 10000;

/// Parses input text as one JSON document within the limits above. Empty or
/// all-blank text is `{}`. Errors are kInvalidRequest with the position.
Result<nlohmann::json> ParseInputText(const std::string& text);

/// Turns a parsed input document into the command for `verb`, validating
/// types, counts and id lengths. Errors are kInvalidRequest naming the key.
Result<Command> ParseCommand(Verb verb, const nlohmann::json& input);

}  // namespace ohfp
