// The physical floor of a verb's cloud work: the EC2 calls it cannot avoid,
// each signed and sent on its own over a fresh connection, with nothing
// around them. Only the HTTP exchange (and its signature) is timed; building
// the parameters and reading the answer are not.
#pragma once

#include <string>
#include <vector>

#include "aws/aws_client.h"
#include "aws/ec2_client.h"
#include "core/status.h"

namespace ohfp::bench {

class RawEc2 {
 public:
  RawEc2(std::string endpoint, std::string region, aws::Credentials credentials);

  /// One RunInstances of `input`; the new instance ids go to `*ids`.
  /// Returns the milliseconds the exchange took.
  Result<double> RunInstances(const aws::RunInstancesInput& input, std::vector<std::string>* ids);

  /// DescribeInstances of `ids`, one call per kMaxIdsPerCall ids, each on a
  /// new connection. Returns the milliseconds of every exchange together.
  Result<double> DescribeInstances(const std::vector<std::string>& ids);

  /// TerminateInstances of `ids` (≤ kMaxIdsPerCall) in one call.
  Result<double> TerminateInstances(const std::vector<std::string>& ids);

 private:
  /// One call on a new connection; the answer goes to `*body`.
  Result<double> Send(const std::string& action, const aws::QueryParams& params, std::string* body);

  std::string endpoint_;
  std::string region_;
  aws::Credentials credentials_;
};

}  // namespace ohfp::bench
