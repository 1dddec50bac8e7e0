// Host templates: what Host Factory may ask for. Loaded from
// awsprov_templates.json (or <name>prov_templates.json, templates.json) in
// either key convention (Host Factory camelCase or the snake_case "default"
// convention) and validated; an invalid template is logged and left out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace ohfp {

/// One attribute as Host Factory wants it on the wire: kind + string value.
struct TemplateAttribute {
  std::string kind;   // "String" or "Numeric"
  std::string value;  // always a string
  bool operator==(const TemplateAttribute&) const = default;
};

struct Template {
  std::string template_id;
  int64_t max_number = 0;  // -1 = unlimited
  /// Attributes in file order is not kept; keyed by name (type, ncpus, nram…).
  std::map<std::string, TemplateAttribute> attributes;
  std::string price_type = "ondemand";        // ondemand | spot | heterogeneous
  std::string provider_api = "RunInstances";  // RunInstances | EC2Fleet | SpotFleet | ASG
  std::string fleet_type;                     // instant | request | maintain ("" = n/a)
  std::string image_id;                       // AMI id or SSM parameter path ("/aws/service/…")
  std::vector<std::string> subnet_ids;
  std::string vm_type;                      // single instance type
  std::map<std::string, int64_t> vm_types;  // type -> weight (spot/fleets)
  std::map<std::string, int64_t> vm_types_on_demand;
  std::map<std::string, int64_t> vm_types_priority;
  std::vector<std::string> security_group_ids;
  std::string key_name;
  std::string instance_profile;  // ARN or name
  std::string user_data_script;  // path (read at launch) or literal script
  std::vector<std::pair<std::string, std::string>> instance_tags;  // in file order
  int64_t root_device_volume_size = 0;                             // GiB, 0 = AMI default
  std::string volume_type;                                         // "" = gp3 when a size is set
  int64_t iops = 0;
  std::string fleet_role;
  double max_spot_price = 0;               // 0 = not set
  int64_t spot_fleet_request_expiry = 30;  // minutes
  std::string allocation_strategy;
  std::string allocation_strategy_on_demand;
  int64_t percent_on_demand = 0;
  int64_t pools_count = 0;
  std::string launch_template_id;
  std::string launch_template_version;  // $Latest | $Default | N ("" = n/a)
  /// Keys we do not interpret, passed through to getAvailableTemplates output
  /// under their original (camelCase) names.
  nlohmann::json extras = nlohmann::json::object();
};

/// Result of loading a template file: the valid templates, in file order, and
/// one message per template left out.
struct TemplateSet {
  std::vector<Template> templates;
  std::vector<std::string> rejected;  // "template 'x': maxNumber 20000 outside -1..10000"
  std::string source_path;            // the file they came from
  std::string scheduler_type;         // the document's "scheduler_type": hostfactory | default | ""

  const Template* Find(const std::string& template_id) const;
};

/// Parses one template object (either key convention; attributes plain or
/// [kind, value]) and validates it per the contract's rules. On failure the
/// status (kConfigurationError) message names the template and the rule.
/// Without providerApi, ondemand means RunInstances and spot/heterogeneous
/// SpotFleet; EC2Fleet/SpotFleet default to fleetType "request"; an
/// ondemand template whose only type is a one-entry vmTypes gets it as vmType.
Result<Template> ParseTemplate(const nlohmann::json& object);

/// Parses a template document: {"templates": [...]} or a bare array. A
/// malformed document is a kConfigurationError; an invalid template only
/// lands in `rejected`. Duplicate template ids: the second is rejected.
Result<TemplateSet> ParseTemplates(const nlohmann::json& document);

/// Parses `text`, the contents of the template file at `path`, as a template
/// document (ParseTemplates); `path` names the file in errors and becomes
/// `source_path`. Invalid JSON or a malformed document is a
/// kConfigurationError.
Result<TemplateSet> ParseTemplateFile(const std::string& text, const std::string& path);

/// Finds and loads the template file in `confdir`: the first that exists of
/// <provider_name>prov_templates.json, awsprov_templates.json, templates.json.
/// No file is a kConfigurationError naming the paths tried.
Result<TemplateSet> LoadTemplates(const std::string& confdir, const std::string& provider_name);

/// "k=v;k2=v2" → pairs; also accepts a JSON object. Empty keys are an error.
Result<std::vector<std::pair<std::string, std::string>>> ParseInstanceTags(
    const nlohmann::json& value);

/// Pairs → "k=v;k2=v2".
std::string FormatInstanceTags(const std::vector<std::pair<std::string, std::string>>& tags);

}  // namespace ohfp
