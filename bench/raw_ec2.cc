#include "raw_ec2.h"

#include <algorithm>

#include "aws/credentials.h"
#include "aws/socket_transport.h"
#include "measured_process.h"

namespace ohfp::bench {

RawEc2::RawEc2(std::string endpoint, std::string region, aws::Credentials credentials)
    : endpoint_(std::move(endpoint)),
      region_(std::move(region)),
      credentials_(std::move(credentials)) {}

Result<double> RawEc2::Send(const std::string& action, const aws::QueryParams& params,
                            std::string* body) {
  // A transport of its own: its first exchange opens a new connection.
  aws::SocketTransport transport;
  aws::StaticCredentials credentials(credentials_);
  SystemClock clock;
  aws::ClientOptions options;
  options.region = region_;
  options.endpoint_url = endpoint_;
  options.max_attempts = 1;
  // A floor must not give up where ohfp would retry: moto can take tens of
  // seconds to describe 1,000 instances.
  options.request_timeout_ms = 300000;
  aws::AwsClient client(options, &transport, &credentials, &clock);

  double started = MonotonicMs();
  Result<std::string> answer = client.CallQuery("ec2", action, aws::kEc2ApiVersion, params);
  double elapsed = MonotonicMs() - started;
  if (!answer.ok()) return answer.status();
  *body = std::move(answer).value();
  return elapsed;
}

Result<double> RawEc2::RunInstances(const aws::RunInstancesInput& input,
                                    std::vector<std::string>* ids) {
  std::string body;
  Result<double> ms = Send("RunInstances", aws::RunInstancesParams(input), &body);
  if (!ms.ok()) return ms;
  Result<aws::Reservation> reservation = aws::ParseRunInstancesResponse(body);
  if (!reservation.ok()) return reservation.status();
  for (const aws::Ec2Instance& i : reservation->instances) ids->push_back(i.instance_id);
  return ms;
}

Result<double> RawEc2::DescribeInstances(const std::vector<std::string>& ids) {
  double total = 0;
  for (size_t begin = 0; begin < ids.size(); begin += aws::kMaxIdsPerCall) {
    size_t end = std::min(ids.size(), begin + aws::kMaxIdsPerCall);
    aws::QueryParams params;
    for (size_t i = begin; i < end; ++i) {
      params.emplace_back("InstanceId." + std::to_string(i - begin + 1), ids[i]);
    }
    std::string body;
    Result<double> ms = Send("DescribeInstances", params, &body);
    if (!ms.ok()) return ms;
    total += *ms;
  }
  return total;
}

Result<double> RawEc2::TerminateInstances(const std::vector<std::string>& ids) {
  aws::QueryParams params;
  for (size_t i = 0; i < ids.size(); ++i) {
    params.emplace_back("InstanceId." + std::to_string(i + 1), ids[i]);
  }
  std::string body;
  return Send("TerminateInstances", params, &body);
}

}  // namespace ohfp::bench
