#include "support/fakes.h"

#include <cstdio>

namespace ohfp::testing {

std::string SequentialIds::NewUuid() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012lld",
                static_cast<long long>(next_++));
  return buf;
}

Result<LaunchResult> FakeProvider::Launch(const Template& tmpl, const Request& request) {
  ++launch_calls;
  if (on_change_call) on_change_call();
  bool fail = !next_launch_error.ok();
  Status error = next_launch_error;
  next_launch_error = Status();
  if (fail && !launch_anyway) return error;

  LaunchResult result;
  for (int64_t i = 0; i < request.machine_count; ++i) {
    Instance inst;
    char id[32];
    std::snprintf(id, sizeof id, "i-%017llx", static_cast<unsigned long long>(next_id_++));
    inst.instance_id = id;
    int64_t ip = next_ip_++;
    inst.private_ip = "10.0.1." + std::to_string(ip);
    inst.private_dns_name = "ip-10-0-1-" + std::to_string(ip) + ".ec2.internal";
    inst.public_ip = "54.0.0." + std::to_string(ip);
    inst.state = launch_state;
    inst.instance_type = tmpl.vm_type.empty() ? "t3.micro" : tmpl.vm_type;
    inst.lifecycle = tmpl.price_type == "spot" ? "spot" : "";
    inst.launch_time = clock != nullptr ? clock->NowSeconds() : 1767225600;
    inst.request_id = request.request_id;
    inst.template_id = tmpl.template_id;
    instances[inst.instance_id] = inst;
    result.instances.push_back(inst);
  }
  result.handles = {{"reservation_ids", {"r-" + std::to_string(launch_calls)}}};
  if (fail) return error;
  return result;
}

Result<std::vector<Instance>> FakeProvider::Describe(const std::vector<std::string>& ids) {
  ++describe_calls;
  if (!next_describe_error.ok()) {
    Status s = next_describe_error;
    next_describe_error = Status();
    return s;
  }
  std::vector<Instance> out;
  for (const auto& id : ids) {
    auto it = instances.find(id);
    if (it != instances.end()) out.push_back(it->second);
  }
  return out;
}

Result<std::vector<Instance>> FakeProvider::FindByRequest(const std::vector<std::string>& ids) {
  ++find_calls;
  if (!next_find_error.ok()) {
    Status s = next_find_error;
    next_find_error = Status();
    return s;
  }
  std::vector<Instance> out;
  for (const auto& [id, inst] : instances) {
    for (const auto& r : ids) {
      if (inst.request_id == r) out.push_back(inst);
    }
  }
  return out;
}

Result<std::vector<Instance>> FakeProvider::FindByName(const std::vector<std::string>& names) {
  ++find_calls;
  std::vector<Instance> out;
  for (const auto& [id, inst] : instances) {
    for (const auto& n : names) {
      if (inst.private_dns_name == n || inst.private_ip == n) out.push_back(inst);
    }
  }
  return out;
}

Result<std::vector<Instance>> FakeProvider::FindManaged() {
  ++find_calls;
  std::vector<Instance> out;
  for (const auto& [id, inst] : instances) {
    if (inst.state != "terminated" && inst.state != "shutting-down") out.push_back(inst);
  }
  return out;
}

Status FakeProvider::Release(const std::vector<std::string>& ids) {
  ++release_calls;
  if (on_change_call) on_change_call();
  if (!next_release_error.ok()) {
    Status s = next_release_error;
    next_release_error = Status();
    return s;
  }
  for (const auto& id : ids) {
    released.push_back(id);
    auto it = instances.find(id);
    if (it != instances.end() && it->second.state != "terminated") {
      it->second.state = "shutting-down";
      it->second.state_reason = "Client.UserInitiatedShutdown";
    }
  }
  return Status();
}

void FakeProvider::SetState(const std::string& request_id, const std::string& state,
                            const std::string& reason) {
  for (auto& [id, inst] : instances) {
    if (request_id.empty() || inst.request_id == request_id) {
      inst.state = state;
      inst.state_reason = reason;
    }
  }
}

void FakeProvider::SetInstanceState(const std::string& instance_id, const std::string& state,
                                    const std::string& reason) {
  instances[instance_id].state = state;
  instances[instance_id].state_reason = reason;
}

void FakeProvider::Purge(const std::string& instance_id) { instances.erase(instance_id); }

}  // namespace ohfp::testing
