// A moto_server harness for tests, the demo and the benchmark: starts the
// local AWS emulator on a free loopback port, optionally switches on its
// SigV4 signature checking with a fresh IAM access key, and stops it by its
// process id. Never talks to anything but 127.0.0.1.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "aws/aws_client.h"
#include "core/status.h"

namespace ohfp::devenv {

struct MotoOptions {
  bool signature_checking = true;  // create an IAM user + key, then reset-auth 0
  std::string log_path;            // moto's stdout/stderr ("" = /dev/null)
  bool detach = false;  // true: the server outlives this object (demo); Stop() still works
  std::string region = "us-east-1";
  /// PEM certificate and key: serve https with them instead of http. The
  /// certificate must name 127.0.0.1; clients trust it as its own CA.
  std::string tls_certificate;
  std::string tls_key;
};

class MotoServer {
 public:
  /// Starts moto_server -H 127.0.0.1 -p <free port> and waits (≤ 30 s) until
  /// it answers; with signature_checking, creates IAM user "ohfp-test" with
  /// an allow-all inline policy and an access key, then turns checking on.
  static Result<std::unique_ptr<MotoServer>> Start(const MotoOptions& options);

  /// Attaches to a server started elsewhere (demo's second step).
  MotoServer(pid_t pid, int port, aws::Credentials credentials, std::string region);

  /// Stops the server unless it was started detached.
  ~MotoServer();
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  /// SIGTERM, then SIGKILL after 5 s; waits for the process. Idempotent.
  void Stop();

  std::string endpoint() const;  // "http://127.0.0.1:<port>" (https with TLS)
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& region() const { return region_; }
  /// The key to sign with (the IAM key, or dummy "testing" keys when
  /// signature checking is off).
  const aws::Credentials& credentials() const { return credentials_; }

  /// Environment variables that point the AWS client at this server:
  /// AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
  /// AWS_EC2_METADATA_DISABLED=true.
  std::vector<std::pair<std::string, std::string>> ClientEnvironment() const;

 private:
  MotoServer() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  bool tls_ = false;
  bool detached_ = false;
  aws::Credentials credentials_;
  std::string region_ = "us-east-1";
};

/// A VPC, subnet and security group to launch into.
struct Network {
  std::string vpc_id;
  std::string subnet_id;
  std::string security_group_id;
};

/// Creates a 10.0.0.0/16 VPC, a 10.0.1.0/24 subnet and a security group
/// through `client` (EC2 CreateVpc, CreateSubnet, CreateSecurityGroup).
Result<Network> CreateNetwork(aws::AwsClient& client);

/// Temporary credentials (with a session token) for a new allow-all IAM role
/// `role_name`, assumed through STS with `client`'s own key.
Result<aws::Credentials> AssumeTestRole(aws::AwsClient& client, const std::string& role_name);

/// A free TCP port on 127.0.0.1 (bind to port 0, read it back, close).
int FreeLoopbackPort();

}  // namespace ohfp::devenv
