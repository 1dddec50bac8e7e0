#include "store/record_json.h"

#include <string_view>

namespace ohfp {
namespace {

using nlohmann::json;

// Reads optional fields of one object and remembers the first one that has the
// wrong type, so a record is either fully understood or rejected with a reason.
class FieldReader {
 public:
  FieldReader(const json& j, std::string_view record) : j_(j), record_(record) {}

  void String(const char* key, std::string* out) {
    const json* v = Find(key);
    if (v == nullptr) return;
    if (!v->is_string()) return Fail(key, "a string");
    *out = v->get<std::string>();
  }

  void Int(const char* key, int64_t* out) {
    const json* v = Find(key);
    if (v == nullptr) return;
    if (!v->is_number_integer()) return Fail(key, "an integer");
    *out = v->get<int64_t>();
  }

  void StringList(const char* key, std::vector<std::string>* out) {
    const json* v = Find(key);
    if (v == nullptr) return;
    if (!v->is_array()) return Fail(key, "an array of strings");
    out->clear();
    for (const json& item : *v) {
      if (!item.is_string()) return Fail(key, "an array of strings");
      out->push_back(item.get<std::string>());
    }
  }

  void Any(const char* key, json* out) {
    const json* v = Find(key);
    if (v != nullptr) *out = *v;
  }

  void Fail(const std::string& key, const std::string& expected) {
    if (!status_.ok()) return;
    status_ =
        Status::InvalidRequest(std::string(record_) + " field '" + key + "' is not " + expected);
  }

  const Status& status() const { return status_; }

 private:
  const json* Find(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  const json& j_;
  std::string_view record_;
  Status status_;
};

}  // namespace

json RequestToJson(const Request& r) {
  return json{
      {"request_id", r.request_id},
      {"kind", RequestKindName(r.kind)},
      {"template_id", r.template_id},
      {"provider_api", r.provider_api},
      {"machine_count", r.machine_count},
      {"state", RequestStateName(r.state)},
      {"message", r.message},
      {"client_token", r.client_token},
      {"handles", r.handles},
      {"machine_ids", r.machine_ids},
      {"created_at", r.created_at},
      {"updated_at", r.updated_at},
      {"completed_at", r.completed_at},
      {"launch_attempts", r.launch_attempts},
  };
}

Result<Request> RequestFromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidRequest("request record is not an object");
  Request r;
  FieldReader f(j, "request");
  f.String("request_id", &r.request_id);
  std::string kind = RequestKindName(r.kind);
  f.String("kind", &kind);
  if (auto k = ParseRequestKind(kind)) {
    r.kind = *k;
  } else {
    f.Fail("kind", "\"acquire\" or \"return\"");
  }
  f.String("template_id", &r.template_id);
  f.String("provider_api", &r.provider_api);
  f.Int("machine_count", &r.machine_count);
  std::string state = RequestStateName(r.state);
  f.String("state", &state);
  if (auto s = ParseRequestState(state)) {
    r.state = *s;
  } else {
    f.Fail("state", "a known request state");
  }
  f.String("message", &r.message);
  f.String("client_token", &r.client_token);
  f.Any("handles", &r.handles);
  f.StringList("machine_ids", &r.machine_ids);
  f.Int("created_at", &r.created_at);
  f.Int("updated_at", &r.updated_at);
  f.Int("completed_at", &r.completed_at);
  f.Int("launch_attempts", &r.launch_attempts);
  if (!f.status().ok()) return f.status();
  return r;
}

json MachineToJson(const Machine& m) {
  return json{
      {"machine_id", m.machine_id},     {"name", m.name},
      {"request_id", m.request_id},     {"return_request_id", m.return_request_id},
      {"template_id", m.template_id},   {"state", m.state},
      {"state_reason", m.state_reason}, {"private_ip", m.private_ip},
      {"public_ip", m.public_ip},       {"instance_type", m.instance_type},
      {"price_type", m.price_type},     {"launch_time", m.launch_time},
      {"updated_at", m.updated_at},
  };
}

Result<Machine> MachineFromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidRequest("machine record is not an object");
  Machine m;
  FieldReader f(j, "machine");
  f.String("machine_id", &m.machine_id);
  f.String("name", &m.name);
  f.String("request_id", &m.request_id);
  f.String("return_request_id", &m.return_request_id);
  f.String("template_id", &m.template_id);
  f.String("state", &m.state);
  f.String("state_reason", &m.state_reason);
  f.String("private_ip", &m.private_ip);
  f.String("public_ip", &m.public_ip);
  f.String("instance_type", &m.instance_type);
  f.String("price_type", &m.price_type);
  f.Int("launch_time", &m.launch_time);
  f.Int("updated_at", &m.updated_at);
  if (!f.status().ok()) return f.status();
  return m;
}

}  // namespace ohfp
