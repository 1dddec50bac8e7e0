// Where a request for a service goes and how it is signed: explicit
// endpoint, then the AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL
// environment overrides, then the regional default.
#pragma once

#include <map>
#include <string>

#include "core/status.h"

namespace ohfp::aws {

/// The parts of an http(s) URL that signing and sending need.
struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // without brackets for IPv6 literals
  int port = 0;        // 0 = the scheme's default
  std::string path;    // "/" when the URL has none
  std::string query;   // after '?', without it
};

/// Parses an absolute http or https URL; anything else is kConfigurationError.
Result<Url> ParseUrl(const std::string& url);

/// The Host header for `url`: the host, plus ":port" when the port is not the
/// scheme's default (IPv6 literals in brackets).
std::string HostHeader(const Url& url);

/// A resolved service endpoint.
struct Endpoint {
  std::string url;             // always ends with '/'
  std::string signing_region;  // region of the credential scope
  std::string signing_name;    // service of the credential scope
};

/// The environment-variable suffix for a service ("autoscaling" gives
/// "AUTO_SCALING"; unknown services their upper-case name).
std::string EndpointEnvSuffix(const std::string& service);

/// Resolves the endpoint of `service` ("ec2", "autoscaling", "ssm", "dynamodb",
/// "sts", "iam") in `region`: `explicit_url` if not empty, else (unless
/// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true) AWS_ENDPOINT_URL_<SERVICE>, then
/// AWS_ENDPOINT_URL from `env`, else https://<prefix>.<region>.amazonaws.com
/// (.com.cn in cn- regions; IAM is global and signed in us-east-1). A
/// malformed URL or a missing region is a kConfigurationError.
Result<Endpoint> ResolveEndpoint(const std::string& service, const std::string& region,
                                 const std::string& explicit_url,
                                 const std::map<std::string, std::string>& env);

}  // namespace ohfp::aws
