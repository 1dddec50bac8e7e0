#include "config/template.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <initializer_list>
#include <set>
#include <string_view>
#include <system_error>

#include "config/json_value.h"
#include "core/ascii.h"

namespace ohfp {

namespace {

using nlohmann::json;

constexpr int64_t kMaxNumberLimit = 10000;
constexpr size_t kMaxTemplateIdLength = 64;
constexpr size_t kMaxTagKeyLength = 128;    // EC2 limit
constexpr size_t kMaxTagValueLength = 256;  // EC2 limit

// Administrators write enumerations in several styles (SpotFleet, spotfleet,
// capacity-optimized, capacity_optimized); compare on letters and digits only.
std::string Folded(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '-' && c != '_' && c != ' ') {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::optional<std::string> Canonical(std::string_view value,
                                     std::initializer_list<const char*> known) {
  std::string folded = Folded(value);
  for (const char* k : known) {
    if (Folded(k) == folded) return std::string(k);
  }
  return std::nullopt;
}

std::string JoinNames(std::initializer_list<const char*> names) {
  std::string out;
  for (const char* n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool IsValidTemplateId(const std::string& id) {
  if (id.empty() || id.size() > kMaxTemplateIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string NumberText(const json& v) {
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return v.dump();
}

bool StartsWithIgnoringCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && AsciiLower(s.substr(0, prefix.size())) == prefix;
}

// Reads the fields of one template. Every key it looks up is marked as
// consumed, so whatever is left afterwards is an extra to pass through, and
// it remembers which spelling the file used so messages speak the file's
// language.
class TemplateReader {
 public:
  TemplateReader(const json& object, std::string label)
      : object_(object), label_(std::move(label)) {}

  void set_label(std::string label) { label_ = std::move(label); }

  Status Error(const std::string& rule) const {
    return Status::Configuration("template " + label_ + ": " + rule);
  }

  /// The key the file used for the field whose first (camelCase) name is
  /// `camel`, or `camel` itself when the field is absent.
  std::string KeyFor(const char* camel) const {
    auto it = used_.find(camel);
    return it == used_.end() ? camel : it->second;
  }

  /// Finds the field under any of `names` (null counts as absent); two
  /// spellings of the same field at once are ambiguous and rejected.
  Status Lookup(std::initializer_list<const char*> names, const json** value) {
    *value = nullptr;
    const char* found = nullptr;
    for (const char* name : names) {
      auto it = object_.find(name);
      if (it == object_.end()) continue;
      consumed_.insert(name);
      if (it->is_null()) continue;
      if (found != nullptr) {
        return Error(std::string("both ") + found + " and " + name + " are given");
      }
      found = name;
      *value = &*it;
    }
    if (found != nullptr) used_[*names.begin()] = found;
    return Status();
  }

  Status String(std::initializer_list<const char*> names, std::string* out) {
    const json* v = nullptr;
    OHFP_RETURN_IF_ERROR(Lookup(names, &v));
    if (v == nullptr) return Status();
    if (!v->is_string()) return Error(KeyFor(*names.begin()) + " must be a string");
    *out = TrimBlanks(v->get_ref<const std::string&>());
    return Status();
  }

  Status Integer(std::initializer_list<const char*> names, int64_t* out, bool* present = nullptr) {
    const json* v = nullptr;
    OHFP_RETURN_IF_ERROR(Lookup(names, &v));
    if (present != nullptr) *present = v != nullptr;
    if (v == nullptr) return Status();
    std::optional<int64_t> n = ToInt64(*v);
    if (!n) {
      return Error(KeyFor(*names.begin()) + " must be an integer, got " + DescribeValue(*v));
    }
    *out = *n;
    return Status();
  }

  Status Number(std::initializer_list<const char*> names, double* out, bool* present) {
    const json* v = nullptr;
    OHFP_RETURN_IF_ERROR(Lookup(names, &v));
    *present = v != nullptr;
    if (v == nullptr) return Status();
    std::optional<double> d = ToDouble(*v);
    if (!d) return Error(KeyFor(*names.begin()) + " must be a number, got " + DescribeValue(*v));
    *out = *d;
    return Status();
  }

  /// A list given as an array of strings or a comma-separated string (or an
  /// array of comma-separated strings); blanks and empty items are dropped.
  Status StringList(std::initializer_list<const char*> names, std::vector<std::string>* out) {
    const json* v = nullptr;
    OHFP_RETURN_IF_ERROR(Lookup(names, &v));
    if (v == nullptr) return Status();
    std::string key = KeyFor(*names.begin());
    std::vector<const json*> items;
    if (v->is_array()) {
      for (const json& item : *v) items.push_back(&item);
    } else {
      items.push_back(v);
    }
    out->clear();
    for (const json* item : items) {
      if (!item->is_string()) {
        return Error(key + " must be a string, a comma-separated string or an array of strings");
      }
      std::string_view rest = item->get_ref<const std::string&>();
      while (true) {
        size_t comma = rest.find(',');
        std::string part = TrimBlanks(rest.substr(0, comma));
        if (!part.empty()) out->push_back(part);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    return Status();
  }

  /// Instance type → integer weight, each at least `min_weight`. An array of
  /// type names means weight 1 each.
  Status Weights(std::initializer_list<const char*> names, int64_t min_weight,
                 std::map<std::string, int64_t>* out) {
    const json* v = nullptr;
    OHFP_RETURN_IF_ERROR(Lookup(names, &v));
    if (v == nullptr) return Status();
    std::string key = KeyFor(*names.begin());
    std::string expected = min_weight > 0 ? "a positive integer" : "a non-negative integer";
    out->clear();
    if (v->is_array()) {
      for (const json& item : *v) {
        if (!item.is_string() || TrimBlanks(item.get<std::string>()).empty()) {
          return Error(key + " must map instance types to weights");
        }
        (*out)[TrimBlanks(item.get<std::string>())] = 1;
      }
      return Status();
    }
    if (!v->is_object()) return Error(key + " must map instance types to weights");
    for (const auto& [type, weight] : v->items()) {
      std::string name = TrimBlanks(type);
      if (name.empty()) return Error(key + " names an empty instance type");
      std::optional<int64_t> w = ToInt64(weight);
      if (!w || *w < min_weight) {
        return Error(key + " weight for '" + name + "' must be " + expected + ", got " +
                     DescribeValue(weight));
      }
      (*out)[name] = *w;
    }
    return Status();
  }

  /// Every key that no lookup consumed, as written.
  json Extras() const {
    json extras = json::object();
    for (const auto& [key, value] : object_.items()) {
      if (!consumed_.contains(key)) extras[key] = value;
    }
    return extras;
  }

 private:
  const json& object_;
  std::string label_;
  std::set<std::string> consumed_;
  std::map<std::string, std::string> used_;  // first name → the name in the file
};

Status ParseAttribute(const std::string& name, const json& raw, const TemplateReader& r,
                      TemplateAttribute* out) {
  std::string where = "attribute '" + name + "'";
  const json* value = &raw;
  std::optional<std::string> kind;
  if (raw.is_array()) {
    if (raw.size() == 2) {
      if (!raw[0].is_string()) return r.Error(where + " kind must be String or Numeric");
      kind = Canonical(raw[0].get<std::string>(), {"String", "Numeric"});
      if (!kind) {
        return r.Error(where + " kind " + DescribeValue(raw[0]) + " is not String or Numeric");
      }
      value = &raw[1];
    } else if (raw.size() == 1) {
      value = &raw[0];  // ["4096"]: a value without its kind
    } else {
      return r.Error(where + " must be a value or a [kind, value] pair");
    }
  }

  std::string text;
  if (value->is_number()) {
    text = NumberText(*value);
    if (!kind) kind = "Numeric";
  } else if (value->is_string()) {
    text = value->get<std::string>();
    // IBM's sample writes "type" plainly; everything else that reads as a
    // number is one (ncpus "2", rank "1"), the rest (priceInfo...) is text.
    if (!kind) kind = name != "type" && LooksNumeric(TrimBlanks(text)) ? "Numeric" : "String";
  } else {
    return r.Error(where + " must be a string, a number or a [kind, value] pair");
  }

  if (*kind == "Numeric") {
    text = TrimBlanks(text);
    if (!LooksNumeric(text)) {
      return r.Error(where + " is Numeric but " + DescribeValue(*value) + " is not a number");
    }
  }
  out->kind = *kind;
  out->value = text;
  return Status();
}

Status ParseAttributes(const json& v, const std::string& key, const TemplateReader& r,
                       std::map<std::string, TemplateAttribute>* out) {
  if (!v.is_object()) return r.Error(key + " must be an object");
  for (const auto& [name, raw] : v.items()) {
    OHFP_RETURN_IF_ERROR(ParseAttribute(name, raw, r, &(*out)[name]));
  }

  auto type = out->find("type");
  if (type == out->end()) return r.Error(key + " must include type (with ncpus and nram)");
  if (type->second.kind != "String" || TrimBlanks(type->second.value).empty()) {
    return r.Error("attribute 'type' must be a non-empty String");
  }
  for (const char* name : {"ncpus", "nram"}) {
    auto it = out->find(name);
    if (it == out->end()) {
      return r.Error(key + " must include " + name + " (with type, ncpus and nram)");
    }
    std::optional<double> n = ToDouble(json(it->second.value));
    if (it->second.kind != "Numeric" || !n || *n <= 0) {
      return r.Error(std::string("attribute '") + name + "' must be a positive number, got '" +
                     it->second.value + "'");
    }
  }
  return Status();
}

bool IsValidLaunchTemplateVersion(const std::string& v) {
  if (v == "$Latest" || v == "$Default") return true;
  bool digits = std::all_of(v.begin(), v.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (v.empty() || !digits) {
    return false;
  }
  std::optional<int64_t> n = ToInt64(json(v));
  return n && *n >= 1;
}

// What the contract's API × price × fleet-type table allows.
Status CheckCombination(const Template& t, const TemplateReader& r) {
  std::string api = t.provider_api;
  const std::string& price = t.price_type;
  const std::string& fleet = t.fleet_type;
  bool is_fleet = api == "EC2Fleet" || api == "SpotFleet";

  if (!is_fleet && !fleet.empty()) {
    return r.Error(r.KeyFor("fleetType") + " " + fleet + " is not supported with providerApi " +
                   api + " (fleetType applies to EC2Fleet and SpotFleet only)");
  }
  // RunInstances launches one-time spot instances through its market
  // options; heterogeneous needs a fleet, and ASG spot is not built yet.
  bool spot_runinstances = api == "RunInstances" && price == "spot";
  if ((api == "RunInstances" || api == "ASG") && price != "ondemand" && !spot_runinstances) {
    return r.Error("providerApi " + api + " does not support priceType " + price +
                   " (unsupported combination)");
  }
  if (api == "EC2Fleet" && fleet == "maintain") {
    return r.Error(
        "providerApi EC2Fleet does not support fleetType maintain "
        "(unsupported combination)");
  }
  if (api == "SpotFleet" && fleet != "request") {
    return r.Error("providerApi SpotFleet does not support fleetType " + fleet +
                   " (unsupported combination; SpotFleet supports request)");
  }
  return Status();
}

Status Validate(const Template& t, const TemplateReader& r, const json& extras) {
  bool has_launch_template = !t.launch_template_id.empty();

  if (t.max_number < -1 || t.max_number > kMaxNumberLimit) {
    return r.Error(r.KeyFor("maxNumber") + " " + std::to_string(t.max_number) + " outside -1.." +
                   std::to_string(kMaxNumberLimit));
  }
  if (t.image_id.empty() && !has_launch_template) {
    return r.Error(r.KeyFor("imageId") + " is required (unless a launchTemplateId supplies it)");
  }

  const json* abis = nullptr;
  for (const char* key : {"abisInstanceRequirements", "abis_instance_requirements"}) {
    if (extras.contains(key) && !extras[key].is_null()) abis = &extras[key];
  }
  if (abis != nullptr &&
      (!abis->is_object() || !abis->contains("VCpuCount") || !abis->contains("MemoryMiB"))) {
    return r.Error("abisInstanceRequirements must be an object with VCpuCount and MemoryMiB");
  }
  if (t.vm_type.empty() && t.vm_types.empty() && abis == nullptr && !has_launch_template) {
    return r.Error(
        "no instance type: set vmType, vmTypes, abisInstanceRequirements or "
        "launchTemplateId");
  }

  OHFP_RETURN_IF_ERROR(CheckCombination(t, r));

  if (t.provider_api == "SpotFleet" && t.price_type != "ondemand" && t.fleet_role.empty()) {
    return r.Error(r.KeyFor("fleetRole") + " is required for " + t.price_type +
                   " SpotFleet templates");
  }
  if (t.percent_on_demand < 0 || t.percent_on_demand > 100) {
    return r.Error(r.KeyFor("percentOnDemand") + " " + std::to_string(t.percent_on_demand) +
                   " outside 0..100");
  }
  return Status();
}

Status ValidateVolume(const Template& t, bool size_given, bool iops_given,
                      const TemplateReader& r) {
  if (size_given && (t.root_device_volume_size < 1 || t.root_device_volume_size > 16384)) {
    return r.Error(r.KeyFor("rootDeviceVolumeSize") + " " +
                   std::to_string(t.root_device_volume_size) + " outside 1..16384");
  }
  if (!iops_given) return Status();
  if (t.iops < 100 || t.iops > 64000) {
    return r.Error(r.KeyFor("iops") + " " + std::to_string(t.iops) + " outside 100..64000");
  }
  // gp3 takes provisioned IOPS as well as io1/io2; gp2 and standard do not.
  // With no volume type the AMI's decides, which may not accept it.
  if (t.volume_type != "io1" && t.volume_type != "io2" && t.volume_type != "gp3") {
    return r.Error(r.KeyFor("iops") + " needs " + r.KeyFor("volumeType") +
                   " io1, io2 or gp3, not " +
                   (t.volume_type.empty() ? std::string("unset") : t.volume_type));
  }
  return Status();
}

// Reads an enumeration field into its canonical spelling.
Status ReadChoice(TemplateReader& r, std::initializer_list<const char*> names,
                  std::initializer_list<const char*> known, std::string* out) {
  std::string raw;
  OHFP_RETURN_IF_ERROR(r.String(names, &raw));
  if (raw.empty()) return Status();
  std::optional<std::string> canonical = Canonical(raw, known);
  if (!canonical) {
    return r.Error("unknown " + r.KeyFor(*names.begin()) + " '" + raw + "' (one of " +
                   JoinNames(known) + ")");
  }
  *out = *canonical;
  return Status();
}

Result<Template> ParseTemplateWithLabel(const json& object, const std::string& label) {
  if (!object.is_object()) {
    return Status::Configuration("template " + label + ": not a JSON object");
  }
  TemplateReader r(object, label);
  Template t;

  const json* id = nullptr;
  OHFP_RETURN_IF_ERROR(r.Lookup({"templateId", "template_id"}, &id));
  if (id == nullptr) return r.Error("templateId (template_id) is required");
  if (!id->is_string() || !IsValidTemplateId(id->get<std::string>())) {
    return r.Error(r.KeyFor("templateId") + " " + DescribeValue(*id) + " must be 1.." +
                   std::to_string(kMaxTemplateIdLength) + " characters of [0-9A-Za-z_-]");
  }
  t.template_id = id->get<std::string>();
  r.set_label("'" + t.template_id + "'");

  bool max_given = false;
  OHFP_RETURN_IF_ERROR(r.Integer({"maxNumber", "max_instances"}, &t.max_number, &max_given));
  if (!max_given) return r.Error("maxNumber (max_instances) is required, -1..10000");

  const json* attributes = nullptr;
  OHFP_RETURN_IF_ERROR(r.Lookup({"attributes"}, &attributes));
  if (attributes == nullptr) return r.Error("attributes are required (type, ncpus, nram)");
  OHFP_RETURN_IF_ERROR(ParseAttributes(*attributes, "attributes", r, &t.attributes));

  OHFP_RETURN_IF_ERROR(ReadChoice(r, {"priceType", "price_type"},
                                  {"ondemand", "spot", "heterogeneous"}, &t.price_type));
  std::string api;
  OHFP_RETURN_IF_ERROR(ReadChoice(r, {"providerApi", "provider_api"},
                                  {"RunInstances", "EC2Fleet", "SpotFleet", "ASG"}, &api));
  // IBM's spot and heterogeneous templates name no API and mean a spot
  // fleet request (they carry fleetRole and spotFleetRequestExpiry).
  t.provider_api = !api.empty() ? api : t.price_type == "ondemand" ? "RunInstances" : "SpotFleet";
  OHFP_RETURN_IF_ERROR(ReadChoice(r, {"fleetType", "fleet_type"},
                                  {"instant", "request", "maintain"}, &t.fleet_type));
  if (t.fleet_type.empty() && (t.provider_api == "EC2Fleet" || t.provider_api == "SpotFleet")) {
    t.fleet_type = "request";
  }

  OHFP_RETURN_IF_ERROR(r.String({"imageId", "image_id"}, &t.image_id));
  OHFP_RETURN_IF_ERROR(r.StringList({"subnetId", "subnetIds", "subnet_ids"}, &t.subnet_ids));
  OHFP_RETURN_IF_ERROR(r.String({"vmType", "instance_type"}, &t.vm_type));
  OHFP_RETURN_IF_ERROR(r.Weights({"vmTypes", "machine_types"}, 1, &t.vm_types));
  OHFP_RETURN_IF_ERROR(
      r.Weights({"vmTypesOnDemand", "machine_types_ondemand"}, 1, &t.vm_types_on_demand));
  OHFP_RETURN_IF_ERROR(
      r.Weights({"vmTypesPriority", "machine_types_priority"}, 0, &t.vm_types_priority));
  // The snake_case convention names a single on-demand type as {type: 1}.
  if (t.vm_type.empty() && t.vm_types.size() == 1 && t.price_type == "ondemand") {
    t.vm_type = t.vm_types.begin()->first;
  }

  bool size_given = false;
  bool iops_given = false;
  OHFP_RETURN_IF_ERROR(r.Integer({"rootDeviceVolumeSize", "root_device_volume_size"},
                                 &t.root_device_volume_size, &size_given));
  OHFP_RETURN_IF_ERROR(ReadChoice(r, {"volumeType", "volume_type"},
                                  {"gp2", "gp3", "io1", "io2", "standard"}, &t.volume_type));
  OHFP_RETURN_IF_ERROR(r.Integer({"iops"}, &t.iops, &iops_given));
  OHFP_RETURN_IF_ERROR(ValidateVolume(t, size_given, iops_given, r));

  const json* tags = nullptr;
  OHFP_RETURN_IF_ERROR(r.Lookup({"instanceTags", "tags"}, &tags));
  if (tags != nullptr) {
    auto parsed = ParseInstanceTags(*tags);
    if (!parsed.ok()) return r.Error(r.KeyFor("instanceTags") + ": " + parsed.status().message());
    t.instance_tags = std::move(parsed).value();
  }

  OHFP_RETURN_IF_ERROR(r.String({"keyName", "key_name"}, &t.key_name));
  OHFP_RETURN_IF_ERROR(
      r.StringList({"securityGroupIds", "security_group_ids"}, &t.security_group_ids));
  OHFP_RETURN_IF_ERROR(r.String({"instanceProfile", "instance_profile"}, &t.instance_profile));
  OHFP_RETURN_IF_ERROR(r.String({"userDataScript", "user_data"}, &t.user_data_script));
  OHFP_RETURN_IF_ERROR(r.String({"fleetRole", "fleet_role"}, &t.fleet_role));

  bool price_given = false;
  OHFP_RETURN_IF_ERROR(r.Number({"maxSpotPrice", "max_price"}, &t.max_spot_price, &price_given));
  if (price_given && t.max_spot_price <= 0) {
    return r.Error(r.KeyFor("maxSpotPrice") + " must be a positive number");
  }
  bool expiry_given = false;
  OHFP_RETURN_IF_ERROR(r.Integer({"spotFleetRequestExpiry", "spot_fleet_request_expiry"},
                                 &t.spot_fleet_request_expiry, &expiry_given));
  if (expiry_given && t.spot_fleet_request_expiry < 1) {
    return r.Error(r.KeyFor("spotFleetRequestExpiry") + " must be at least 1 minute");
  }
  OHFP_RETURN_IF_ERROR(
      ReadChoice(r, {"allocationStrategy", "allocation_strategy"},
                 {"capacityOptimized", "capacityOptimizedPrioritized", "diversified", "lowestPrice",
                  "priceCapacityOptimized", "prioritized"},
                 &t.allocation_strategy));
  OHFP_RETURN_IF_ERROR(
      ReadChoice(r, {"allocationStrategyOnDemand", "allocation_strategy_on_demand"},
                 {"lowestPrice", "prioritized"}, &t.allocation_strategy_on_demand));
  OHFP_RETURN_IF_ERROR(r.Integer({"percentOnDemand", "percent_on_demand"}, &t.percent_on_demand));
  bool pools_given = false;
  OHFP_RETURN_IF_ERROR(r.Integer({"poolsCount", "pools_count"}, &t.pools_count, &pools_given));
  if (pools_given && t.pools_count < 1) {
    return r.Error(r.KeyFor("poolsCount") + " must be a positive integer");
  }

  OHFP_RETURN_IF_ERROR(r.String({"launchTemplateId", "launch_template_id"}, &t.launch_template_id));
  const json* version = nullptr;
  OHFP_RETURN_IF_ERROR(r.Lookup({"launchTemplateVersion", "launch_template_version"}, &version));
  if (version != nullptr) {
    std::optional<int64_t> number = version->is_number() ? ToInt64(*version) : std::nullopt;
    if (version->is_string()) {
      t.launch_template_version = TrimBlanks(version->get<std::string>());
    } else if (number) {
      t.launch_template_version = std::to_string(*number);
    }
    if (!IsValidLaunchTemplateVersion(t.launch_template_version)) {
      return r.Error(r.KeyFor("launchTemplateVersion") + " " + DescribeValue(*version) +
                     " must be $Latest, $Default or a positive integer");
    }
  }

  t.extras = r.Extras();
  OHFP_RETURN_IF_ERROR(Validate(t, r, t.extras));
  return t;
}

}  // namespace

const Template* TemplateSet::Find(const std::string& template_id) const {
  for (const Template& t : templates) {
    if (t.template_id == template_id) return &t;
  }
  return nullptr;
}

Result<Template> ParseTemplate(const nlohmann::json& object) {
  return ParseTemplateWithLabel(object, "(no templateId)");
}

Result<TemplateSet> ParseTemplates(const nlohmann::json& document) {
  TemplateSet set;
  const json* list = &document;
  if (document.is_object()) {
    auto scheduler = document.find("scheduler_type");
    if (scheduler != document.end() && !scheduler->is_null()) {
      std::optional<std::string> type;
      if (scheduler->is_string())
        type = Canonical(scheduler->get<std::string>(), {"hostfactory", "default"});
      if (!type) {
        return Status::Configuration("scheduler_type " + DescribeValue(*scheduler) +
                                     " is not hostfactory or default");
      }
      set.scheduler_type = *type;
    }
    auto templates = document.find("templates");
    if (templates == document.end() || !templates->is_array()) {
      return Status::Configuration("template document has no \"templates\" array");
    }
    list = &*templates;
  } else if (!document.is_array()) {
    return Status::Configuration(
        "template document must be {\"templates\": [...]} or an array of templates");
  }

  std::map<std::string, size_t> first_index;
  for (size_t i = 0; i < list->size(); ++i) {
    Result<Template> t = ParseTemplateWithLabel((*list)[i], "at index " + std::to_string(i));
    if (!t.ok()) {
      set.rejected.push_back(t.status().message());
      continue;
    }
    auto [it, inserted] = first_index.emplace(t->template_id, i);
    if (!inserted) {
      set.rejected.push_back("template '" + t->template_id + "': duplicate templateId (index " +
                             std::to_string(i) + "; first at index " + std::to_string(it->second) +
                             ")");
      continue;
    }
    set.templates.push_back(std::move(t).value());
  }
  return set;
}

Result<TemplateSet> ParseTemplateFile(const std::string& text, const std::string& path) {
  Result<json> document = ParseJsonText(text, path, /*show_text=*/true);
  if (!document.ok()) return document.status();
  Result<TemplateSet> set = ParseTemplates(*document);
  if (!set.ok()) return Status::Configuration(path + ": " + set.status().message());
  set->source_path = path;
  return set;
}

Result<TemplateSet> LoadTemplates(const std::string& confdir, const std::string& provider_name) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  if (!provider_name.empty()) names.push_back(provider_name + "prov_templates.json");
  for (const char* n : {"awsprov_templates.json", "templates.json"}) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }

  std::string tried;
  for (const std::string& name : names) {
    std::string path = (fs::path(confdir) / name).string();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried += (tried.empty() ? "" : ", ") + path;
      continue;
    }
    if (!fs::is_regular_file(path, ec)) {
      return Status::Configuration("template file " + path + " is not a regular file");
    }
    Result<std::string> text = ReadTextFile(path);
    if (!text.ok()) return text.status();
    return ParseTemplateFile(*text, path);
  }
  return Status::Configuration("no template file found; tried " + tried);
}

Result<std::vector<std::pair<std::string, std::string>>> ParseInstanceTags(
    const nlohmann::json& value) {
  std::vector<std::pair<std::string, std::string>> tags;
  if (value.is_string()) {
    std::string_view rest = value.get_ref<const std::string&>();
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string item = TrimBlanks(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      if (item.empty()) continue;  // "a=1;" and "a=1;;b=2" are fine
      size_t eq = item.find('=');
      if (eq == std::string::npos) {
        return Status::Configuration("tag '" + item + "' is not key=value");
      }
      tags.emplace_back(TrimBlanks(item.substr(0, eq)), TrimBlanks(item.substr(eq + 1)));
    }
  } else if (value.is_object()) {
    for (const auto& [key, v] : value.items()) {
      std::string text;
      if (v.is_string()) {
        text = v.get<std::string>();
      } else if (v.is_number() || v.is_boolean()) {
        text = v.is_number() ? NumberText(v) : v.dump();
      } else if (!v.is_null()) {
        return Status::Configuration("tag '" + key + "' value must be a string");
      }
      // The k=v;k=v form cannot carry these, and tags are emitted in it.
      if (key.find_first_of("=;") != std::string::npos || text.find(';') != std::string::npos) {
        return Status::Configuration("tag '" + key + "' must not contain ';' (nor '=' in the key)");
      }
      tags.emplace_back(TrimBlanks(key), TrimBlanks(text));
    }
  } else {
    return Status::Configuration("must be a \"k=v;k2=v2\" string or an object");
  }

  std::set<std::string> seen;
  for (const auto& [key, text] : tags) {
    if (key.empty()) return Status::Configuration("tag with an empty key");
    if (StartsWithIgnoringCase(key, "aws:")) {
      return Status::Configuration("tag key '" + key + "' uses the prefix aws:, reserved by AWS");
    }
    if (StartsWithIgnoringCase(key, "ohfp:")) {
      return Status::Configuration("tag key '" + key +
                                   "' uses the prefix ohfp:, reserved for ohfp's own tags");
    }
    if (key.size() > kMaxTagKeyLength) {
      return Status::Configuration("tag key '" + key + "' is longer than 128 characters");
    }
    if (text.size() > kMaxTagValueLength) {
      return Status::Configuration("tag '" + key + "' value is longer than 256 characters");
    }
    if (!seen.insert(key).second) {
      return Status::Configuration("tag key '" + key + "' appears twice");
    }
  }
  return tags;
}

std::string FormatInstanceTags(const std::vector<std::pair<std::string, std::string>>& tags) {
  std::string out;
  for (const auto& [key, value] : tags) {
    if (!out.empty()) out += ';';
    out += key + "=" + value;
  }
  return out;
}

}  // namespace ohfp
