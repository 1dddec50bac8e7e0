// Typed EC2 calls over AwsClient: the request serialization (flattened,
// 1-based EC2 query names), the XML answers parsed namespace-agnostically, and
// the EC2 habits callers should not have to know about (batch limits,
// pagination, one unknown id failing a whole call).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aws/aws_client.h"
#include "core/status.h"

namespace ohfp::aws {

using TagList = std::vector<std::pair<std::string, std::string>>;

/// The root EBS volume of a launch.
struct RootVolume {
  std::string device_name;  // the AMI's rootDeviceName ("/dev/xvda")
  int64_t size_gib = 0;
  std::string volume_type;  // gp2, gp3, io1, io2, standard
  int64_t iops = 0;         // 0 = not sent
};

/// One-time spot market options; the instance is terminated on interruption.
struct SpotMarket {
  double max_price = 0;  // 0 = not sent (EC2 caps at the on-demand price)
};

struct RunInstancesInput {
  std::string image_id;
  std::string instance_type;
  int64_t min_count = 1;
  int64_t max_count = 1;
  std::string subnet_id;  // "" = EC2 chooses (default VPC)
  std::vector<std::string> security_group_ids;
  std::string key_name;
  std::string iam_instance_profile;  // an ARN ("arn:…") or a profile name
  std::string user_data;             // raw bytes; base64-encoded on the wire
  std::string client_token;          // "" = none
  TagList tags;                      // applied to the instances and their volumes
  std::optional<RootVolume> root_volume;
  std::optional<SpotMarket> spot;
};

/// An EC2 instance as DescribeInstances / RunInstances report it.
struct Ec2Instance {
  std::string instance_id;
  std::string state;         // instanceState/name
  std::string state_reason;  // stateReason/code, "" if none
  std::string private_dns_name;
  std::string private_ip;
  std::string public_ip;
  std::string instance_type;
  std::string lifecycle;    // instanceLifecycle: "spot", "scheduled" or ""
  int64_t launch_time = 0;  // epoch seconds, 0 if absent or unparsable
  TagList tags;

  /// The value of tag `key`, "" if the instance does not carry it.
  std::string Tag(const std::string& key) const;
};

struct Reservation {
  std::string reservation_id;
  std::vector<Ec2Instance> instances;
};

/// One page of a DescribeInstances answer.
struct InstancePage {
  std::vector<Ec2Instance> instances;
  std::string next_token;  // "" on the last page
};

/// A DescribeInstances filter: matches when the attribute equals any value.
struct Ec2Filter {
  std::string name;  // "tag:ohfp:request-id", "private-dns-name", …
  std::vector<std::string> values;
};

/// One instance's state change reported by TerminateInstances.
struct StateChange {
  std::string instance_id;
  std::string previous_state;
  std::string current_state;
};

/// EC2's per-call limits, and the API version every call uses.
inline constexpr char kEc2ApiVersion[] = "2016-11-15";
inline constexpr size_t kMaxIdsPerCall = 1000;
inline constexpr size_t kMaxValuesPerFilter = 200;
/// Calls one DescribeInstances of many ids sends at once.
inline constexpr size_t kMaxConcurrentCalls = 4;

/// The query parameters of RunInstances for `input` ("Action"/"Version" excluded).
QueryParams RunInstancesParams(const RunInstancesInput& input);

/// Adds Filter.N.Name / Filter.N.Value.M for `filters` to `params`.
void AppendFilterParams(const std::vector<Ec2Filter>& filters, QueryParams* params);

/// Parses a RunInstances answer. Malformed XML is a kProviderError.
Result<Reservation> ParseRunInstancesResponse(const std::string& xml);

/// Parses a DescribeInstances answer (every reservation's instances, in order).
Result<InstancePage> ParseDescribeInstancesResponse(std::string xml);

/// Parses a TerminateInstances answer.
Result<std::vector<StateChange>> ParseTerminateInstancesResponse(const std::string& xml);

/// The rootDeviceName of the first image in a DescribeImages answer; a
/// kNotFound status when the answer lists no image.
Result<std::string> ParseRootDeviceName(const std::string& xml);

/// The instance ids named in an InvalidInstanceID.NotFound (or .Malformed)
/// message: "The instance ID 'i-1' does not exist" → {i-1}; "The instance
/// IDs 'i-1, i-2' do not exist" → {i-1, i-2}. Empty when none can be found.
std::vector<std::string> ParseNotFoundInstanceIds(const std::string& message);

/// Standard base64 (with padding) of `data`.
std::string Base64Encode(const std::string& data);

/// EC2 calls through `client`, which must outlive this object.
class Ec2Client {
 public:
  explicit Ec2Client(AwsClient* client) : client_(client) {}

  /// Launches instances. An EC2 refusal is the AwsClient's error, unchanged.
  /// Throttling is retried, but an attempt that may have reached EC2 is not
  /// repeated: its error says "retry_stop": "may_have_acted".
  Result<Reservation> RunInstances(const RunInstancesInput& input);

  /// Describes `instance_ids` in batches of kMaxIdsPerCall, up to
  /// kMaxConcurrentCalls of them at once (so the client and its transport
  /// must be safe to share between threads), in the order given. Ids EC2
  /// does not know (just launched and not yet visible, or long purged) are
  /// absent from the answer instead of failing it. The first batch's error,
  /// in order, fails the whole call.
  Result<std::vector<Ec2Instance>> DescribeInstances(const std::vector<std::string>& instance_ids);

  /// Every instance matching all `filters`, following NextToken. Filters with
  /// more than kMaxValuesPerFilter values are split over several calls; each
  /// instance appears once.
  Result<std::vector<Ec2Instance>> DescribeInstances(const std::vector<Ec2Filter>& filters);

  /// Terminates `instance_ids` in batches of kMaxIdsPerCall; ids EC2 does not
  /// know are skipped, not an error. Returns the reported state changes.
  Result<std::vector<StateChange>> TerminateInstances(const std::vector<std::string>& instance_ids);

  /// The root device name ("/dev/xvda") of AMI `image_id`.
  Result<std::string> DescribeImageRootDevice(const std::string& image_id);

 private:
  // One InstanceId.N call (≤ kMaxIdsPerCall ids, plus `extra` parameters)
  // of `action`, retried without the ids EC2 reports unknown, which are
  // removed from `ids`. `body` receives the answer, or stays empty when no
  // id of the batch is known.
  Status CallWithKnownIds(const std::string& action, std::vector<std::string>* ids,
                          const QueryParams& extra, std::string* body);

  // Every page of one DescribeInstances of ≤ kMaxIdsPerCall ids.
  Result<std::vector<Ec2Instance>> DescribeBatch(std::vector<std::string> ids, std::mutex* parsing);

  AwsClient* client_;
};

}  // namespace ohfp::aws
