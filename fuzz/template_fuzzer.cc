// The template file, from raw bytes: ParseTemplateFile is what LoadTemplates
// runs on awsprov_templates.json, minus the disk.
//
// Checks: a failure is a configuration error naming the file; every template
// kept obeys the rules the loader promises; each entry of the list is either
// kept or rejected with a reason; instance tags format and parse back to
// themselves; and getAvailableTemplates' answer for the set is well formed,
// and where it reads back as a template file it gives the same templates.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "config/json_value.h"
#include "config/template.h"
#include "contract/output.h"
#include "contract/report.h"
#include "fuzz/check.h"

namespace ohfp {
namespace {

using json = nlohmann::json;

constexpr char kPath[] = "/fuzz/awsprov_templates.json";

bool OneOf(const std::string& value, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return true;
  }
  return false;
}

bool IsValidTemplateId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (unsigned char c : id) {
    if (!std::isalnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

void CheckTemplate(const Template& t) {
  const std::string& id = t.template_id;
  FUZZ_CHECK(IsValidTemplateId(id), id);
  FUZZ_CHECK(t.max_number >= -1 && t.max_number <= 10000, id);
  for (const char* name : {"type", "ncpus", "nram"}) {
    FUZZ_CHECK(t.attributes.contains(name), id + " lacks attribute " + name);
  }
  FUZZ_CHECK(t.attributes.at("type").kind == "String", id);
  for (const auto& [name, attribute] : t.attributes) {
    FUZZ_CHECK(OneOf(attribute.kind, {"String", "Numeric"}), id + " " + name);
    if (attribute.kind == "Numeric") {
      FUZZ_CHECK(LooksNumeric(attribute.value), id + " " + name + "=" + attribute.value);
    }
  }
  FUZZ_CHECK(OneOf(t.price_type, {"ondemand", "spot", "heterogeneous"}), id);
  FUZZ_CHECK(OneOf(t.provider_api, {"RunInstances", "EC2Fleet", "SpotFleet", "ASG"}), id);
  bool fleet = t.provider_api == "EC2Fleet" || t.provider_api == "SpotFleet";
  FUZZ_CHECK(fleet ? OneOf(t.fleet_type, {"instant", "request", "maintain"}) : t.fleet_type.empty(),
             id + " fleetType " + t.fleet_type);
  FUZZ_CHECK(!t.image_id.empty() || !t.launch_template_id.empty(), id);
  FUZZ_CHECK(t.percent_on_demand >= 0 && t.percent_on_demand <= 100, id);
  for (const auto& [type, weight] : t.vm_types) FUZZ_CHECK(weight >= 1, id + " " + type);
  for (const std::string& subnet : t.subnet_ids) {
    FUZZ_CHECK(!subnet.empty() && subnet.find(',') == std::string::npos, id + " " + subnet);
  }

  // Tags travel as "k=v;k2=v2" (getAvailableTemplates, the launch path):
  // that form must carry them unchanged.
  std::string tag_text = FormatInstanceTags(t.instance_tags);
  auto tags = ParseInstanceTags(json(tag_text));
  FUZZ_CHECK(tags.ok(), id + ": " + tags.status().ToString() + " for " + tag_text);
  FUZZ_CHECK(*tags == t.instance_tags, id + " tags " + tag_text);
}

// The fields getAvailableTemplates --long carries, compared.
void CheckSameTemplate(const Template& a, const Template& b) {
  const std::string& id = a.template_id;
  FUZZ_CHECK(a.template_id == b.template_id, id + " vs " + b.template_id);
  FUZZ_CHECK(a.max_number == b.max_number, id);
  FUZZ_CHECK(a.attributes == b.attributes, id);
  FUZZ_CHECK(a.price_type == b.price_type, id);
  FUZZ_CHECK(a.provider_api == b.provider_api, id);
  FUZZ_CHECK(a.fleet_type == b.fleet_type, id);
  FUZZ_CHECK(a.image_id == b.image_id, id);
  FUZZ_CHECK(a.subnet_ids == b.subnet_ids, id);
  FUZZ_CHECK(a.vm_type == b.vm_type, id);
  FUZZ_CHECK(a.vm_types == b.vm_types, id);
  FUZZ_CHECK(a.instance_tags == b.instance_tags, id);
  FUZZ_CHECK(a.security_group_ids == b.security_group_ids, id);
  FUZZ_CHECK(a.key_name == b.key_name && a.instance_profile == b.instance_profile, id);
  FUZZ_CHECK(a.user_data_script == b.user_data_script, id);
  FUZZ_CHECK(a.root_device_volume_size == b.root_device_volume_size, id);
  FUZZ_CHECK(a.volume_type == b.volume_type && a.iops == b.iops, id);
  FUZZ_CHECK(a.launch_template_id == b.launch_template_id, id);
}

void CheckAnswer(const TemplateSet& set) {
  TemplatesReport report;
  for (const Template& t : set.templates) report.templates.push_back({&t, 1});
  report.rejected = set.rejected;
  OutputOptions options;
  options.long_form = true;
  options.all = true;
  json answer = FormatTemplates(report, options);

  // stdout must take it: dump() throws on anything that is not UTF-8.
  std::string printed = answer.dump();
  FUZZ_CHECK(json::parse(printed) == answer, printed);
  const json& list = answer.at("templates");
  FUZZ_CHECK(list.size() == set.templates.size(), printed);

  for (size_t i = 0; i < list.size(); ++i) {
    const json& entry = list[i];
    const Template& t = set.templates[i];
    FUZZ_CHECK(entry.at("templateId") == t.template_id, printed);
    int64_t available = entry.at("availableNumber").get<int64_t>();
    FUZZ_CHECK(t.max_number < 0 ? available == -1 : available >= 0 && available <= t.max_number,
               printed);
    for (const auto& [name, pair] : entry.at("attributes").items()) {
      FUZZ_CHECK(pair.is_array() && pair.size() == 2 && pair[1].is_string(), printed);
    }

    Result<Template> again = ParseTemplate(entry);
    if (again.ok()) CheckSameTemplate(t, *again);
  }
}

}  // namespace
}  // namespace ohfp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ohfp;
  std::string text(reinterpret_cast<const char*>(data), size);

  Result<TemplateSet> set = ParseTemplateFile(text, kPath);
  if (!set.ok()) {
    FUZZ_CHECK(set.status().code() == ErrorCode::kConfigurationError, set.status().ToString());
    FUZZ_CHECK(set.status().message().find(kPath) != std::string::npos, set.status().ToString());
    return 0;
  }
  FUZZ_CHECK(set->source_path == kPath, set->source_path);

  // Every entry of the list is kept or rejected, never silently dropped.
  json document = json::parse(text);
  const json& list = document.is_array() ? document : document.at("templates");
  FUZZ_CHECK(set->templates.size() + set->rejected.size() == list.size(), text);

  std::set<std::string> ids;
  for (const Template& t : set->templates) {
    CheckTemplate(t);
    FUZZ_CHECK(ids.insert(t.template_id).second, "duplicate " + t.template_id);
  }
  for (const std::string& why : set->rejected) FUZZ_CHECK(!why.empty(), text);
  CheckAnswer(*set);
  return 0;
}
