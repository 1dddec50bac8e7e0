// The Host Factory contract, output side: one typed result → one JSON
// document, in the Host Factory camelCase format (the scripts) or the
// snake_case "default" format (the command line). This is also the one place
// where an error becomes the documented error body.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contract/report.h"
#include "core/status.h"

namespace ohfp {

enum class OutputFormat {
  kHostFactory,  // camelCase, what Symphony parses
  kDefault,      // snake_case, for people and tools
};

struct OutputOptions {
  OutputFormat format = OutputFormat::kHostFactory;
  bool long_form = false;  // --long: every field we hold
  bool clean = false;      // --clean: drop empty strings, nulls and empty lists
  bool all = false;        // --all: also list what is normally left out
  int64_t now = 0;         // epoch seconds, for timestamps
};

nlohmann::json FormatTemplates(const TemplatesReport& report, const OutputOptions& options);

/// requestMachines answer.
nlohmann::json FormatAcquireSubmit(const SubmitReport& report, const OutputOptions& options);

/// requestReturnMachines answer.
nlohmann::json FormatReturnSubmit(const SubmitReport& report, const OutputOptions& options);

nlohmann::json FormatRequestStatus(const std::vector<RequestReport>& reports,
                                   const OutputOptions& options);

/// Host Factory getReturnRequests: hosts the cloud is taking back.
nlohmann::json FormatReclaims(const ReclaimReport& report, const OutputOptions& options);

/// Command-line getReturnRequests: the return requests ohfp holds.
nlohmann::json FormatReturnRequestList(const std::vector<Request>& requests,
                                       const OutputOptions& options);

/// `ohfp reconcile`: instances carrying our tags that no live request owns.
nlohmann::json FormatReconcile(const ReconcileReport& report, const OutputOptions& options);

/// The documented error body: {"error", "error_code", "timestamp",
/// "request_id" (when one exists), "details", "message"}.
nlohmann::json FormatError(const Status& status, const std::string& request_id, int64_t now);

/// Snake-case status word for a request state: PENDING, IN_PROGRESS,
/// COMPLETED, PARTIAL, FAILED.
const char* DefaultStatusName(RequestState state);

/// Removes null values, empty strings, empty arrays and empty objects,
/// recursively (--clean).
void DropEmpty(nlohmann::json* value);

}  // namespace ohfp
