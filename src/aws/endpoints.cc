#include "aws/endpoints.h"

#include <algorithm>
#include <cctype>

#include "core/ascii.h"

namespace ohfp::aws {
namespace {

std::string EnvValue(const std::map<std::string, std::string>& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? "" : it->second;
}

int DefaultPort(const std::string& scheme) { return scheme == "https" ? 443 : 80; }

struct ServiceInfo {
  const char* service;
  const char* env_suffix;
  bool global;  // one endpoint for the partition, signed in its home region
};

const ServiceInfo kServices[] = {
    {"ec2", "EC2", false}, {"autoscaling", "AUTO_SCALING", false},
    {"ssm", "SSM", false}, {"dynamodb", "DYNAMODB", false},
    {"sts", "STS", false}, {"iam", "IAM", true},
};

const ServiceInfo* FindService(const std::string& service) {
  for (const auto& info : kServices) {
    if (service == info.service) return &info;
  }
  return nullptr;
}

Result<Endpoint> FromUrl(const std::string& url, const std::string& source,
                         const std::string& region, const std::string& service) {
  Result<Url> parsed = ParseUrl(url);
  if (!parsed.ok()) {
    return Status::Configuration("invalid endpoint URL in " + source + ": " +
                                 parsed.status().message());
  }
  Endpoint endpoint;
  endpoint.url = url;
  if (parsed->query.empty() && endpoint.url.back() != '/') endpoint.url.push_back('/');
  endpoint.signing_region = region;
  endpoint.signing_name = service;
  return endpoint;
}

}  // namespace

Result<Url> ParseUrl(const std::string& url) {
  Url out;
  size_t colon = url.find("://");
  if (colon == std::string::npos) return Status::Configuration("not an absolute URL: " + url);
  out.scheme = AsciiLower(url.substr(0, colon));
  if (out.scheme != "http" && out.scheme != "https") {
    return Status::Configuration("unsupported URL scheme: " + url);
  }

  size_t authority_start = colon + 3;
  size_t authority_end = url.find_first_of("/?#", authority_start);
  if (authority_end == std::string::npos) authority_end = url.size();
  std::string authority = url.substr(authority_start, authority_end - authority_start);
  if (authority.find('@') != std::string::npos) {
    return Status::Configuration("credentials in URLs are not supported");
  }

  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return Status::Configuration("bad IPv6 host in URL: " + url);
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Status::Configuration("bad host in URL: " + url);
      port_text = authority.substr(close + 2);
    }
  } else {
    size_t port_colon = authority.rfind(':');
    out.host = authority.substr(0, port_colon);
    if (port_colon != std::string::npos) port_text = authority.substr(port_colon + 1);
  }
  if (out.host.empty()) return Status::Configuration("no host in URL: " + url);
  out.host = AsciiLower(out.host);
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(),
                                             [](unsigned char c) { return std::isdigit(c); })) {
      return Status::Configuration("bad port in URL: " + url);
    }
    int port = std::stoi(port_text);
    if (port <= 0 || port > 65535) return Status::Configuration("bad port in URL: " + url);
    if (port != DefaultPort(out.scheme)) out.port = port;
  }

  std::string rest = url.substr(authority_end);
  size_t hash = rest.find('#');
  if (hash != std::string::npos) rest.resize(hash);
  size_t question = rest.find('?');
  out.path = rest.substr(0, question);
  if (question != std::string::npos) out.query = rest.substr(question + 1);
  if (out.path.empty()) out.path = "/";
  return out;
}

std::string HostHeader(const Url& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != 0 && url.port != DefaultPort(url.scheme)) {
    host += ":" + std::to_string(url.port);
  }
  return host;
}

std::string EndpointEnvSuffix(const std::string& service) {
  if (const ServiceInfo* info = FindService(service)) return info->env_suffix;
  std::string suffix;
  for (unsigned char c : service) {
    suffix.push_back(std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_');
  }
  return suffix;
}

Result<Endpoint> ResolveEndpoint(const std::string& service, const std::string& region,
                                 const std::string& explicit_url,
                                 const std::map<std::string, std::string>& env) {
  const ServiceInfo* info = FindService(service);
  bool global = info != nullptr && info->global;
  if (region.empty() && !global) {
    return Status::Configuration("no AWS region configured for " + service);
  }
  if (!std::all_of(region.begin(), region.end(), [](unsigned char c) {
        return std::islower(c) || std::isdigit(c) || c == '-';
      })) {
    return Status::Configuration("invalid AWS region: " + region);
  }
  bool cn = region.rfind("cn-", 0) == 0;
  // A global service signs in its partition's home region even when the
  // request goes to an override URL.
  std::string signing_region = global ? (cn ? "cn-north-1" : "us-east-1") : region;

  if (!explicit_url.empty()) {
    return FromUrl(explicit_url, "the provider configuration", signing_region, service);
  }

  if (AsciiLower(EnvValue(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) != "true") {
    std::string name = "AWS_ENDPOINT_URL_" + EndpointEnvSuffix(service);
    std::string url = EnvValue(env, name);
    if (!url.empty()) return FromUrl(url, name, signing_region, service);
    url = EnvValue(env, "AWS_ENDPOINT_URL");
    if (!url.empty()) return FromUrl(url, "AWS_ENDPOINT_URL", signing_region, service);
  }

  std::string domain = cn ? "amazonaws.com.cn" : "amazonaws.com";
  Endpoint endpoint;
  endpoint.signing_region = signing_region;
  endpoint.signing_name = service;
  if (global) {
    endpoint.url = cn ? "https://iam.cn-north-1." + domain + "/" : "https://iam." + domain + "/";
  } else if (service == "sts" &&
             AsciiLower(EnvValue(env, "AWS_STS_REGIONAL_ENDPOINTS")) == "legacy" && !cn) {
    endpoint.url = "https://sts.amazonaws.com/";
    endpoint.signing_region = "us-east-1";
  } else {
    endpoint.url = "https://" + service + "." + region + "." + domain + "/";
  }
  return endpoint;
}

}  // namespace ohfp::aws
