// SSM Parameter Store reads: how a template's imageId written as a parameter
// path ("/aws/service/ami-amazon-linux-latest/…") becomes an AMI id.
#pragma once

#include <string>

#include "aws/aws_client.h"
#include "core/status.h"

namespace ohfp::aws {

/// Parses a GetParameter answer into Parameter.Value; a kProviderError when
/// the answer carries no string value.
Result<std::string> ParseGetParameterResponse(const nlohmann::json& answer);

/// SSM calls through `client`, which must outlive this object.
class SsmClient {
 public:
  explicit SsmClient(AwsClient* client) : client_(client) {}

  /// The value of parameter `name`. A parameter that does not exist is a
  /// kConfigurationError naming it; other failures are the AwsClient's error.
  Result<std::string> GetParameter(const std::string& name);

 private:
  AwsClient* client_;
};

}  // namespace ohfp::aws
