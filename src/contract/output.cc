#include "contract/output.h"

#include <algorithm>
#include <cctype>

#include "core/clock.h"

namespace ohfp {

namespace {

using json = nlohmann::json;

bool IsHf(const OutputOptions& o) { return o.format == OutputFormat::kHostFactory; }

json IsoOrNull(int64_t epoch) { return epoch > 0 ? json(FormatIso8601(epoch)) : json(nullptr); }

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

json WeightsJson(const std::map<std::string, int64_t>& weights) {
  json out = json::object();
  for (const auto& [type, weight] : weights) out[type] = weight;
  return out;
}

json AttributesJson(const Template& t) {
  json out = json::object();
  for (const auto& [name, attr] : t.attributes) out[name] = json::array({attr.kind, attr.value});
  return out;
}

int64_t AvailableNumber(const TemplateReport& r) {
  if (r.tmpl->max_number < 0) return -1;
  return std::max<int64_t>(0, r.tmpl->max_number - r.held);
}

json TemplateHf(const TemplateReport& r, bool long_form) {
  const Template& t = *r.tmpl;
  json out = json::object();
  // Extras first, so that our own keys win where a name collides.
  for (const auto& [key, value] : t.extras.items()) out[key] = value;
  out["templateId"] = t.template_id;
  out["maxNumber"] = t.max_number;
  out["availableNumber"] = AvailableNumber(r);
  out["attributes"] = AttributesJson(t);
  out["priceType"] = t.price_type;
  out["providerApi"] = t.provider_api;
  if (!t.vm_type.empty()) out["vmType"] = t.vm_type;
  if (!t.vm_types.empty()) out["vmTypes"] = WeightsJson(t.vm_types);
  if (!t.image_id.empty()) out["imageId"] = t.image_id;
  if (!t.subnet_ids.empty()) {
    out["subnetId"] = t.subnet_ids.size() == 1 ? json(t.subnet_ids[0]) : json(t.subnet_ids);
  }
  if (!t.instance_tags.empty()) out["instanceTags"] = FormatInstanceTags(t.instance_tags);
  if (long_form) {
    if (!t.fleet_type.empty()) out["fleetType"] = t.fleet_type;
    if (!t.security_group_ids.empty()) out["securityGroupIds"] = t.security_group_ids;
    if (!t.key_name.empty()) out["keyName"] = t.key_name;
    if (!t.instance_profile.empty()) out["instanceProfile"] = t.instance_profile;
    if (!t.user_data_script.empty()) out["userDataScript"] = t.user_data_script;
    if (t.root_device_volume_size > 0) out["rootDeviceVolumeSize"] = t.root_device_volume_size;
    if (!t.volume_type.empty()) out["volumeType"] = t.volume_type;
    if (t.iops > 0) out["iops"] = t.iops;
    if (!t.launch_template_id.empty()) out["launchTemplateId"] = t.launch_template_id;
    out["heldNumber"] = r.held;
  }
  return out;
}

json TemplateDefault(const TemplateReport& r, bool long_form) {
  const Template& t = *r.tmpl;
  json out = {
      {"template_id", t.template_id}, {"provider_api", t.provider_api},
      {"max_number", t.max_number},   {"available_number", AvailableNumber(r)},
      {"held_number", r.held},        {"attributes", AttributesJson(t)},
      {"price_type", t.price_type},   {"vm_type", t.vm_type},
      {"image_id", t.image_id},       {"subnet_ids", t.subnet_ids},
  };
  if (!t.vm_types.empty()) out["vm_types"] = WeightsJson(t.vm_types);
  if (!t.instance_tags.empty()) out["instance_tags"] = FormatInstanceTags(t.instance_tags);
  if (long_form) {
    out["fleet_type"] = t.fleet_type;
    out["security_group_ids"] = t.security_group_ids;
    out["key_name"] = t.key_name;
    out["instance_profile"] = t.instance_profile;
    out["user_data_script"] = t.user_data_script;
    out["root_device_volume_size"] = t.root_device_volume_size;
    out["volume_type"] = t.volume_type;
    out["iops"] = t.iops;
    out["launch_template_id"] = t.launch_template_id;
    out["extras"] = t.extras;
  }
  return out;
}

json MachineHf(const MachineReport& r, bool long_form) {
  const Machine& m = r.machine;
  json out = {
      {"machineId", m.machine_id},
      {"name", m.name.empty() ? m.machine_id : m.name},
      {"result", r.result},
      {"status", m.state.empty() ? "unknown" : m.state},
      {"privateIpAddress", m.private_ip},
      {"publicIpAddress", m.public_ip},
      {"launchtime", m.launch_time},
      {"message", r.message},
  };
  if (!m.price_type.empty()) out["priceType"] = m.price_type;
  if (!m.instance_type.empty()) out["instanceType"] = m.instance_type;
  if (long_form) {
    out["templateId"] = m.template_id;
    out["requestId"] = m.request_id;
    out["returnRequestId"] = m.return_request_id;
    out["stateReason"] = m.state_reason;
  }
  return out;
}

json MachineDefault(const MachineReport& r, bool long_form) {
  const Machine& m = r.machine;
  json out = {
      {"machine_id", m.machine_id},
      {"name", m.name},
      {"status", Upper(m.state.empty() ? "unknown" : m.state)},
      {"result", r.result},
      {"instance_type", m.instance_type},
      {"private_ip", m.private_ip},
      {"public_ip", m.public_ip},
      {"provider_instance_id", m.machine_id},
      {"launch_time", IsoOrNull(m.launch_time)},
      {"message", r.message},
  };
  if (long_form) {
    out["price_type"] = m.price_type;
    out["template_id"] = m.template_id;
    out["request_id"] = m.request_id;
    out["return_request_id"] = m.return_request_id;
    out["state_reason"] = m.state_reason;
    out["updated_at"] = IsoOrNull(m.updated_at);
  }
  return out;
}

json MachinesJson(const std::vector<MachineReport>& machines, const OutputOptions& o) {
  json out = json::array();
  for (const auto& m : machines) {
    out.push_back(IsHf(o) ? MachineHf(m, o.long_form) : MachineDefault(m, o.long_form));
  }
  return out;
}

json Finish(json out, const OutputOptions& o) {
  if (o.clean) DropEmpty(&out);
  return out;
}

const char* ErrorTitle(ErrorCode code) {
  switch (code) {
    case ErrorCode::kTemplateNotFound:
      return "Template not found";
    case ErrorCode::kInvalidRequest:
      return "Invalid request";
    case ErrorCode::kProviderError:
      return "Cloud provider error";
    case ErrorCode::kConfigurationError:
      return "Configuration error";
    case ErrorCode::kResourceLimitExceeded:
      return "Resource limit exceeded";
    case ErrorCode::kStorageError:
      return "State store error";
    default:
      return "Internal error";
  }
}

}  // namespace

const char* DefaultStatusName(RequestState state) {
  switch (state) {
    case RequestState::kPending:
      return "PENDING";
    case RequestState::kInProgress:
      return "IN_PROGRESS";
    case RequestState::kComplete:
      return "COMPLETED";
    case RequestState::kPartial:
      return "PARTIAL";
    case RequestState::kFailed:
      return "FAILED";
  }
  return "PENDING";
}

void DropEmpty(json* value) {
  if (value->is_object()) {
    for (auto it = value->begin(); it != value->end();) {
      DropEmpty(&it.value());
      const json& v = it.value();
      bool empty = v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
                   (v.is_array() && v.empty()) || (v.is_object() && v.empty());
      it = empty ? value->erase(it) : std::next(it);
    }
  } else if (value->is_array()) {
    for (auto& item : *value) DropEmpty(&item);
  }
}

json FormatTemplates(const TemplatesReport& report, const OutputOptions& o) {
  json list = json::array();
  for (const auto& t : report.templates) {
    list.push_back(IsHf(o) ? TemplateHf(t, o.long_form) : TemplateDefault(t, o.long_form));
  }
  size_t n = report.templates.size();
  std::string message = std::to_string(n) + (n == 1 ? " template" : " templates");
  if (!report.rejected.empty()) {
    message += "; " + std::to_string(report.rejected.size()) + " left out as invalid";
  }
  json out = {{"templates", list}, {"message", message}};
  if (!IsHf(o)) out["total_count"] = n;
  if (o.all) out["rejected"] = report.rejected;
  return Finish(std::move(out), o);
}

json FormatAcquireSubmit(const SubmitReport& r, const OutputOptions& o) {
  if (IsHf(o)) {
    return Finish({{"requestId", r.request.request_id}, {"message", r.message}}, o);
  }
  json machines = json::array();
  for (const auto& m : r.machines) {
    machines.push_back(MachineDefault({m, kResultExecuting, ""}, o.long_form));
  }
  json out = {
      {"request_id", r.request.request_id},
      {"template_id", r.request.template_id},
      {"machine_count", r.request.machine_count},
      {"status", DefaultStatusName(r.request.state)},
      {"created_at", IsoOrNull(r.request.created_at)},
      {"machines", machines},
      {"message", r.message},
  };
  return Finish(std::move(out), o);
}

json FormatReturnSubmit(const SubmitReport& r, const OutputOptions& o) {
  if (IsHf(o)) {
    return Finish({{"requestId", r.request.request_id}, {"message", r.message}}, o);
  }
  json out = {
      {"request_id", r.request.request_id},
      {"machine_ids", r.request.machine_ids},
      {"status", DefaultStatusName(r.request.state)},
      {"created_at", IsoOrNull(r.request.created_at)},
      {"message", r.message},
  };
  return Finish(std::move(out), o);
}

json FormatRequestStatus(const std::vector<RequestReport>& reports, const OutputOptions& o) {
  json list = json::array();
  for (const auto& r : reports) {
    if (IsHf(o)) {
      json entry = {{"requestId", r.request_id},
                    {"status", r.hf_status},
                    {"message", r.message},
                    {"machines", MachinesJson(r.machines, o)}};
      if (o.long_form && r.known) {
        entry["requestType"] = RequestKindName(r.request.kind);
        entry["templateId"] = r.request.template_id;
        entry["machineCount"] = r.request.machine_count;
      }
      list.push_back(std::move(entry));
      continue;
    }
    json entry = {{"request_id", r.request_id}, {"message", r.message}};
    if (r.known) {
      const Request& q = r.request;
      entry["request_type"] = RequestKindName(q.kind);
      entry["template_id"] = q.template_id;
      entry["machine_count"] = q.machine_count;
      entry["status"] = DefaultStatusName(q.state);
      entry["created_at"] = IsoOrNull(q.created_at);
      entry["updated_at"] = IsoOrNull(q.updated_at);
      entry["completed_at"] = IsoOrNull(q.completed_at);
      if (o.long_form) {
        entry["provider_api"] = q.provider_api;
        entry["handles"] = q.handles.is_object() ? q.handles : json::object();
        entry["launch_attempts"] = q.launch_attempts;
      }
    } else {
      entry["status"] = "NOT_FOUND";
    }
    entry["machines"] = MachinesJson(r.machines, o);
    list.push_back(std::move(entry));
  }
  json out = {{"requests", std::move(list)}};
  if (!IsHf(o)) out["count"] = reports.size();
  return Finish(std::move(out), o);
}

json FormatReclaims(const ReclaimReport& r, const OutputOptions& o) {
  json list = json::array();
  for (const auto& m : r.machines) {
    if (IsHf(o)) {
      json entry = {{"machine", m.name}, {"gracePeriod", m.grace_period}};
      if (o.long_form) {
        entry["machineId"] = m.machine_id;
        entry["reason"] = m.reason;
      }
      list.push_back(std::move(entry));
    } else {
      list.push_back({{"machine", m.name},
                      {"machine_id", m.machine_id},
                      {"grace_period", m.grace_period},
                      {"reason", m.reason}});
    }
  }
  size_t n = r.machines.size();
  std::string message =
      n == 0 ? "No host is being reclaimed."
             : std::to_string(n) + (n == 1 ? " host" : " hosts") + " being reclaimed by EC2.";
  return Finish({{"status", "complete"}, {"message", message}, {"requests", std::move(list)}}, o);
}

json FormatReturnRequestList(const std::vector<Request>& requests, const OutputOptions& o) {
  json list = json::array();
  for (const auto& q : requests) {
    json entry = {{"request_id", q.request_id},
                  {"machine_ids", q.machine_ids},
                  {"status", DefaultStatusName(q.state)},
                  {"created_at", IsoOrNull(q.created_at)}};
    if (o.long_form) {
      entry["updated_at"] = IsoOrNull(q.updated_at);
      entry["completed_at"] = IsoOrNull(q.completed_at);
      entry["message"] = q.message;
    }
    list.push_back(std::move(entry));
  }
  return Finish({{"return_requests", std::move(list)}, {"count", requests.size()}}, o);
}

json FormatReconcile(const ReconcileReport& report, const OutputOptions& o) {
  json strays = json::array();
  for (const StrayInstance& s : report.strays) {
    strays.push_back({{"machine_id", s.instance_id},
                      {"request_id", s.request_id},
                      {"template_id", s.template_id},
                      {"status", s.state},
                      {"reason", s.reason}});
  }
  return Finish({{"checked", report.checked},
                 {"strays", strays},
                 {"count", report.strays.size()},
                 {"terminated", report.cleaned}},
                o);
}

json FormatError(const Status& status, const std::string& request_id, int64_t now) {
  json out = {
      {"error", ErrorTitle(status.code())},
      {"error_code", ErrorCodeName(status.code())},
      {"timestamp", FormatIso8601(now)},
      {"details", status.details().is_null() ? json::object() : status.details()},
      {"message", status.message()},
  };
  if (!request_id.empty()) out["request_id"] = request_id;
  return out;
}

}  // namespace ohfp
