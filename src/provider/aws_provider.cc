#include "provider/aws_provider.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>

namespace ohfp {

namespace {

constexpr char kSsmPrefix[] = "resolve:ssm:";
constexpr size_t kMaxClientTokenLength = 64;
// EC2's limit on user data, counted before base64 encoding.
constexpr size_t kMaxUserDataBytes = 16 * 1024;

std::string DetailString(const Status& status, const char* key) {
  const nlohmann::json& d = status.details();
  if (d.is_object() && d.contains(key) && d[key].is_string()) return d[key].get<std::string>();
  return "";
}

// An AWS failure as the provider reports it: "<Action> failed: <Code>: <text>",
// keeping the client's details (aws_code among them) for the caller and logs.
Status CloudError(const std::string& action, const Status& error, nlohmann::json extra = {}) {
  std::string code = DetailString(error, "aws_code");
  std::string text =
      code.empty() ? error.message() : code + ": " + DetailString(error, "aws_message");
  nlohmann::json details = error.details().is_object() ? error.details() : nlohmann::json::object();
  if (extra.is_object()) details.update(extra);
  return Status::Error(ErrorCode::kProviderError, action + " failed: " + text, std::move(details));
}

// Adds template context to an error that is not the cloud's fault.
Status TemplateError(const Template& tmpl, const Status& error) {
  nlohmann::json details = error.details().is_object() ? error.details() : nlohmann::json::object();
  details["template_id"] = tmpl.template_id;
  return Status::Error(error.code(), "template '" + tmpl.template_id + "': " + error.message(),
                       std::move(details));
}

Status ValidateClientToken(const std::string& token) {
  if (token.size() > kMaxClientTokenLength) {
    return Status::InvalidRequest("client token is " + std::to_string(token.size()) +
                                  " characters; EC2 allows " +
                                  std::to_string(kMaxClientTokenLength));
  }
  for (unsigned char c : token) {
    if (c < 0x21 || c > 0x7e) return Status::InvalidRequest("client token must be printable ASCII");
  }
  return {};
}

std::vector<Instance> ToInstances(std::vector<aws::Ec2Instance> ec2) {
  std::vector<Instance> out;
  out.reserve(ec2.size());
  for (const aws::Ec2Instance& i : ec2) out.push_back(ToInstance(i));
  return out;
}

// "ip-10-0-1-5" (a short EC2 host name) → "10.0.1.5"; "" for anything else.
std::string IpFromShortHostName(const std::string& name) {
  if (name.rfind("ip-", 0) != 0 || name.find('.') != std::string::npos) return "";
  std::string ip = name.substr(3);
  for (char& c : ip) {
    if (c == '-') c = '.';
  }
  return LooksLikeIpv4(ip) ? ip : "";
}

}  // namespace

Instance ToInstance(const aws::Ec2Instance& ec2) {
  Instance i;
  i.instance_id = ec2.instance_id;
  i.state = ec2.state;
  i.state_reason = ec2.state_reason;
  i.private_dns_name = ec2.private_dns_name;
  i.private_ip = ec2.private_ip;
  i.public_ip = ec2.public_ip;
  i.instance_type = ec2.instance_type;
  i.lifecycle = ec2.lifecycle == "spot" ? "spot" : "";
  i.launch_time = ec2.launch_time;
  i.request_id = ec2.Tag(kRequestIdTag);
  i.template_id = ec2.Tag(kTemplateIdTag);
  return i;
}

bool LooksLikeIpv4(const std::string& name) {
  int parts = 0;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t dot = name.find('.', pos);
    if (dot == std::string::npos) dot = name.size();
    std::string part = name.substr(pos, dot - pos);
    if (part.empty() || part.size() > 3) return false;
    for (char c : part) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    if (std::stoi(part) > 255) return false;
    ++parts;
    pos = dot + 1;
  }
  return parts == 4;
}

AwsProvider::AwsProvider(aws::AwsClient* client, AwsProviderOptions options)
    : ec2_(client), ssm_(client), options_(std::move(options)) {}

Result<std::string> AwsProvider::ResolveImage(const Template& tmpl) {
  std::string image = tmpl.image_id;
  if (image.rfind(kSsmPrefix, 0) == 0) image = image.substr(sizeof(kSsmPrefix) - 1);
  if (image.empty()) return Status::Configuration("no imageId");
  if (image.front() != '/') return image;

  Result<std::string> value = ssm_.GetParameter(image);
  if (!value.ok()) return value.status();
  spdlog::debug("template '{}': imageId {} resolved to {}", tmpl.template_id, image, *value);
  return value;
}

Result<std::string> AwsProvider::LoadUserData(const Template& tmpl) const {
  const std::string& value = tmpl.user_data_script;
  if (value.empty()) return std::string();

  // The value names a file when one exists there; otherwise it is the script
  // itself. A script text is never a path, so probing the file system is safe
  // (error_code overloads: a long script is an invalid name, not an error).
  namespace fs = std::filesystem;
  std::string text = value;
  std::error_code ec;
  fs::path path(value);
  if (path.is_relative() && !options_.confdir.empty()) path = fs::path(options_.confdir) / path;
  if (value.find('\n') == std::string::npos && fs::is_regular_file(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    if (in) content << in.rdbuf();
    if (!in || in.bad())
      return Status::Configuration("cannot read userDataScript " + path.string());
    text = content.str();
  }

  if (text.size() > kMaxUserDataBytes) {
    return Status::Configuration("userDataScript is " + std::to_string(text.size()) +
                                 " bytes; EC2 allows " + std::to_string(kMaxUserDataBytes));
  }
  return text;
}

Result<aws::RunInstancesInput> AwsProvider::BuildRunInstances(const Template& tmpl,
                                                              const Request& request) {
  aws::RunInstancesInput in;

  Result<std::string> image = ResolveImage(tmpl);
  if (!image.ok()) return TemplateError(tmpl, image.status());
  in.image_id = *image;

  in.instance_type = tmpl.vm_type;
  if (in.instance_type.empty() && !tmpl.vm_types.empty()) {
    in.instance_type = tmpl.vm_types.begin()->first;
  }
  if (in.instance_type.empty()) {
    return TemplateError(tmpl, Status::Configuration("no vmType or vmTypes"));
  }

  // All or nothing: Host Factory asked for N hosts, and a partial reservation
  // (MinCount < MaxCount) would leave us tracking a fleet smaller than the
  // request with no way for EC2 to complete it later. Moto also launches only
  // MinCount, so Min = Max keeps tests and production alike.
  in.min_count = request.machine_count;
  in.max_count = request.machine_count;

  if (!tmpl.subnet_ids.empty()) in.subnet_id = tmpl.subnet_ids.front();
  in.security_group_ids = tmpl.security_group_ids;
  in.key_name = tmpl.key_name;
  in.iam_instance_profile = tmpl.instance_profile;
  in.client_token = request.client_token;

  Result<std::string> user_data = LoadUserData(tmpl);
  if (!user_data.ok()) return TemplateError(tmpl, user_data.status());
  in.user_data = std::move(user_data).value();

  in.tags = {{kRequestIdTag, request.request_id},
             {kTemplateIdTag, tmpl.template_id},
             {kManagedByTag, kManagedByValue}};
  for (const auto& [key, value] : tmpl.instance_tags) {
    // EC2 rejects a launch that names a tag key twice; ours must win.
    if (key == kRequestIdTag || key == kTemplateIdTag || key == kManagedByTag) {
      spdlog::warn("template '{}': instance tag '{}' is reserved by ohfp and ignored",
                   tmpl.template_id, key);
      continue;
    }
    in.tags.emplace_back(key, value);
  }

  if (tmpl.root_device_volume_size > 0) {
    Result<std::string> device = ec2_.DescribeImageRootDevice(in.image_id);
    if (!device.ok()) {
      if (device.status().code() == ErrorCode::kNotFound) {
        return TemplateError(
            tmpl, Status::Configuration("image " + in.image_id + ": " + device.status().message()));
      }
      return CloudError("DescribeImages " + in.image_id, device.status(),
                        {{"template_id", tmpl.template_id}});
    }
    aws::RootVolume volume;
    volume.device_name = *device;
    volume.size_gib = tmpl.root_device_volume_size;
    // gp3 when the template names no type: it is EC2's current default for new
    // volumes and is cheaper than gp2 at the same size.
    volume.volume_type = tmpl.volume_type.empty() ? "gp3" : tmpl.volume_type;
    bool provisioned =
        volume.volume_type == "io1" || volume.volume_type == "io2" || volume.volume_type == "gp3";
    if (provisioned && tmpl.iops > 0) volume.iops = tmpl.iops;
    in.root_volume = volume;
  }

  if (tmpl.price_type == "spot") {
    in.spot = aws::SpotMarket{tmpl.max_spot_price};
  } else if (tmpl.price_type != "ondemand" && !tmpl.price_type.empty()) {
    return Status::Error(ErrorCode::kProviderError,
                         "template '" + tmpl.template_id + "': priceType " + tmpl.price_type +
                             " is not supported with providerApi RunInstances",
                         {{"template_id", tmpl.template_id}});
  }
  return in;
}

Result<LaunchResult> AwsProvider::Launch(const Template& tmpl, const Request& request) {
  // The template parser defaults providerApi to RunInstances; "" means unset.
  if (!tmpl.provider_api.empty() && tmpl.provider_api != "RunInstances") {
    return Status::Error(ErrorCode::kProviderError,
                         "providerApi " + tmpl.provider_api + " is not supported yet",
                         {{"template_id", tmpl.template_id}, {"provider_api", tmpl.provider_api}});
  }
  if (request.machine_count <= 0) {
    return Status::InvalidRequest("machine count must be positive, got " +
                                  std::to_string(request.machine_count));
  }
  OHFP_RETURN_IF_ERROR(ValidateClientToken(request.client_token));

  Result<aws::RunInstancesInput> input = BuildRunInstances(tmpl, request);
  if (!input.ok()) return input.status();

  Result<aws::Reservation> reservation = ec2_.RunInstances(*input);
  if (!reservation.ok()) {
    Status error =
        CloudError("RunInstances", reservation.status(),
                   {{"request_id", request.request_id}, {"template_id", tmpl.template_id}});
    spdlog::warn("{}: {}", request.request_id, error.message());
    return error;
  }

  LaunchResult result;
  result.instances = ToInstances(std::move(reservation->instances));
  result.handles = {{"reservation_ids", {reservation->reservation_id}}};
  if (static_cast<int64_t>(result.instances.size()) < request.machine_count) {
    result.message = "EC2 launched " + std::to_string(result.instances.size()) + " of " +
                     std::to_string(request.machine_count) + " instances";
  }
  spdlog::info("{}: RunInstances {} launched {} x {} ({})", request.request_id,
               reservation->reservation_id, result.instances.size(), input->instance_type,
               tmpl.template_id);
  return result;
}

Result<std::vector<Instance>> AwsProvider::Describe(const std::vector<std::string>& instance_ids) {
  if (instance_ids.empty()) return std::vector<Instance>{};
  Result<std::vector<aws::Ec2Instance>> found = ec2_.DescribeInstances(instance_ids);
  if (!found.ok()) return CloudError("DescribeInstances", found.status());
  return ToInstances(std::move(found).value());
}

Result<std::vector<Instance>> AwsProvider::FindByRequest(
    const std::vector<std::string>& request_ids) {
  if (request_ids.empty()) return std::vector<Instance>{};
  std::vector<aws::Ec2Filter> filters = {{std::string("tag:") + kRequestIdTag, request_ids}};
  Result<std::vector<aws::Ec2Instance>> found = ec2_.DescribeInstances(filters);
  if (!found.ok()) return CloudError("DescribeInstances", found.status());
  return ToInstances(std::move(found).value());
}

Result<std::vector<Instance>> AwsProvider::FindManaged() {
  std::vector<aws::Ec2Filter> filters = {
      {std::string("tag:") + kManagedByTag, {kManagedByValue}},
      {"instance-state-name", {"pending", "running", "stopping", "stopped"}}};
  Result<std::vector<aws::Ec2Instance>> found = ec2_.DescribeInstances(filters);
  if (!found.ok()) return CloudError("DescribeInstances", found.status());
  return ToInstances(std::move(found).value());
}

Result<std::vector<Instance>> AwsProvider::FindByName(const std::vector<std::string>& names) {
  std::vector<std::string> dns_names;
  std::vector<std::string> ips;
  std::set<std::string> seen_dns, seen_ips;
  for (const std::string& name : names) {
    if (name.empty()) continue;
    if (LooksLikeIpv4(name)) {
      if (seen_ips.insert(name).second) ips.push_back(name);
      continue;
    }
    if (seen_dns.insert(name).second) dns_names.push_back(name);
    std::string ip = IpFromShortHostName(name);
    if (!ip.empty() && seen_ips.insert(ip).second) ips.push_back(ip);
  }

  std::vector<Instance> out;
  std::set<std::string> seen_ids;
  auto collect = [&](const char* filter, const std::vector<std::string>& values) -> Status {
    if (values.empty()) return {};
    Result<std::vector<aws::Ec2Instance>> found =
        ec2_.DescribeInstances(std::vector<aws::Ec2Filter>{{filter, values}});
    if (!found.ok()) return CloudError("DescribeInstances", found.status());
    for (const aws::Ec2Instance& i : *found) {
      if (seen_ids.insert(i.instance_id).second) out.push_back(ToInstance(i));
    }
    return {};
  };
  OHFP_RETURN_IF_ERROR(collect("private-dns-name", dns_names));
  OHFP_RETURN_IF_ERROR(collect("private-ip-address", ips));
  return out;
}

Status AwsProvider::Release(const std::vector<std::string>& instance_ids) {
  if (instance_ids.empty()) return {};
  Result<std::vector<aws::StateChange>> changes = ec2_.TerminateInstances(instance_ids);
  if (!changes.ok()) return CloudError("TerminateInstances", changes.status());
  spdlog::info("TerminateInstances: {} of {} instances acknowledged", changes->size(),
               instance_ids.size());
  return {};
}

}  // namespace ohfp
