// The Provider on AWS EC2. This version launches with RunInstances (the
// "RunInstances" providerApi); fleets and Auto Scaling groups come later.
#pragma once

#include <string>
#include <vector>

#include "aws/aws_client.h"
#include "aws/ec2_client.h"
#include "aws/ssm_client.h"
#include "provider/provider.h"

namespace ohfp {

/// Tags ohfp puts on every instance (and volume) it launches, so that state
/// can be rebuilt from EC2 alone.
inline constexpr char kRequestIdTag[] = "ohfp:request-id";
inline constexpr char kTemplateIdTag[] = "ohfp:template-id";
inline constexpr char kManagedByTag[] = "ohfp:managed-by";
inline constexpr char kManagedByValue[] = "ohfp";

struct AwsProviderOptions {
  /// The provider's configuration directory: a relative userDataScript path
  /// is looked up here.
  std::string confdir;
};

class AwsProvider : public Provider {
 public:
  /// `client` must outlive the provider.
  AwsProvider(aws::AwsClient* client, AwsProviderOptions options);
  AwsProvider(const AwsProvider&) = delete;
  AwsProvider& operator=(const AwsProvider&) = delete;

  /// Launches exactly request.machine_count instances or none (see the .cc).
  /// A template whose providerApi is not RunInstances, or that EC2 refuses,
  /// is a kProviderError; the AWS error code is in details["aws_code"]. A
  /// template that cannot be turned into a launch (missing SSM parameter,
  /// unreadable user data file) is a kConfigurationError.
  Result<LaunchResult> Launch(const Template& tmpl, const Request& request) override;

  Result<std::vector<Instance>> Describe(const std::vector<std::string>& instance_ids) override;
  Result<std::vector<Instance>> FindByRequest(const std::vector<std::string>& request_ids) override;
  Result<std::vector<Instance>> FindManaged() override;

  /// Matches private DNS names, private IPs given as names, and short host
  /// names of the form "ip-10-0-1-5".
  Result<std::vector<Instance>> FindByName(const std::vector<std::string>& names) override;

  Status Release(const std::vector<std::string>& instance_ids) override;

 private:
  Result<aws::RunInstancesInput> BuildRunInstances(const Template& tmpl, const Request& request);
  Result<std::string> ResolveImage(const Template& tmpl);
  Result<std::string> LoadUserData(const Template& tmpl) const;

  aws::Ec2Client ec2_;
  aws::SsmClient ssm_;
  AwsProviderOptions options_;
};

/// The provider's view of an EC2 instance (our tags give request and template).
Instance ToInstance(const aws::Ec2Instance& ec2);

/// True for a dotted-quad IPv4 address ("10.0.1.5").
bool LooksLikeIpv4(const std::string& name);

}  // namespace ohfp
