#include "cases.h"

namespace ohfp::bench {
namespace {

using json = nlohmann::json;

// A field in either answer format: Host Factory's camelCase (scripts) or the
// command line's snake_case.
std::string Field(const json& j, const char* camel, const char* snake) {
  if (j.contains(camel) && j[camel].is_string()) return j[camel].get<std::string>();
  if (j.contains(snake) && j[snake].is_string()) return j[snake].get<std::string>();
  return "";
}

json MachineRefs(const Cycle& c) {
  json machines = json::array();
  for (size_t i = 0; i < c.machine_ids.size(); ++i) {
    json m = {{"machineId", c.machine_ids[i]}};
    if (i < c.names.size() && !c.names[i].empty()) m["name"] = c.names[i];
    machines.push_back(m);
  }
  return {{"machines", machines}};
}

Result<double> RawRunInstances(RawEc2& raw, const devenv::Network& network, int count,
                               std::vector<std::string>* ids) {
  // What ohfp sends for a bench template, tags included.
  aws::RunInstancesInput in;
  in.image_id = kBenchImageId;
  in.instance_type = kBenchInstanceType;
  in.min_count = in.max_count = count;
  in.subnet_id = network.subnet_id;
  in.security_group_ids = {network.security_group_id};
  in.tags = {{"ohfp:request-id", "req-floor"},
             {"ohfp:template-id", "bench-RunInstances"},
             {"ohfp:managed-by", "ohfp"},
             {"cluster", "bench"}};
  return raw.RunInstances(in, ids);
}

}  // namespace

const std::vector<ApiCase>& ApiCases() {
  static const std::vector<ApiCase> cases = {
      {{"RunInstances", json::object()}, "RunInstances", RawRunInstances},
  };
  return cases;
}

const std::vector<std::string>& StoreBackEnds() {
  static const std::vector<std::string> back_ends = {"sqlite", "json"};
  return back_ends;
}

std::vector<ProviderApi> ProviderApis() {
  std::vector<ProviderApi> apis;
  for (const ApiCase& c : ApiCases()) apis.push_back(c.api);
  return apis;
}

const std::vector<VerbCase>& VerbCases() {
  static const std::vector<VerbCase> cases = {
      {"getAvailableTemplates", [](const Cycle&) { return json::object(); },
       [](const Cycle&) { return std::vector<std::string>{}; }, "", nullptr, nullptr},
      {"requestMachines",
       [](const Cycle& c) {
         return json{{"template",
                      {{"templateId", ProviderDir::TemplateId(c.api->api)}, {"machineCount", 1}}}};
       },
       [](const Cycle& c) {
         return std::vector<std::string>{ProviderDir::TemplateId(c.api->api), "1"};
       },
       "RunInstances",
       [](RawEc2& raw, const devenv::Network& network, Cycle* c) {
         return c->api->raw_launch(raw, network, 1, &c->floor_instances);
       },
       [](const json& answer, Cycle* c) {
         c->request_id = Field(answer, "requestId", "request_id");
       }},
      {"getRequestStatus",
       [](const Cycle& c) {
         return json{{"requests", {{{"requestId", c.request_id}}}}};
       },
       [](const Cycle& c) { return std::vector<std::string>{c.request_id}; }, "DescribeInstances",
       [](RawEc2& raw, const devenv::Network&, Cycle* c) {
         return raw.DescribeInstances(c->machine_ids);
       },
       [](const json& answer, Cycle* c) {
         c->machine_ids.clear();
         c->names.clear();
         for (const json& m : answer["requests"][0]["machines"]) {
           c->machine_ids.push_back(Field(m, "machineId", "machine_id"));
           c->names.push_back(Field(m, "name", "name"));
         }
       }},
      {"requestReturnMachines", [](const Cycle& c) { return MachineRefs(c); },
       [](const Cycle& c) { return c.machine_ids; }, "TerminateInstances",
       [](RawEc2& raw, const devenv::Network&, Cycle* c) {
         Result<double> ms = raw.TerminateInstances(c->floor_instances);
         c->floor_instances.clear();
         return ms;
       },
       nullptr},
      {"getReturnRequests", [](const Cycle& c) { return MachineRefs(c); },
       [](const Cycle& c) { return c.machine_ids; }, "DescribeInstances",
       [](RawEc2& raw, const devenv::Network&, Cycle* c) {
         return raw.DescribeInstances(c->machine_ids);
       },
       nullptr},
  };
  return cases;
}

}  // namespace ohfp::bench
