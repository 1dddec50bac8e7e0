// Everything one ohfp process needs to talk to AWS: the HTTP transport, the
// credential chain, the AWS client and the provider on top of them. The CLI
// builds it only for verbs that reach AWS, so that the others never pay for
// the HTTP client or credential lookup.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "aws/aws_client.h"
#include "config/provider_config.h"
#include "core/clock.h"
#include "core/status.h"
#include "provider/provider.h"

namespace ohfp {

namespace aws {
class SocketTransport;
class CredentialChain;
}  // namespace aws

class AwsProvider;

class AwsSession {
 public:
  /// Builds the session from configuration: region, endpoint, proxy,
  /// connection timeout and retry count from `config.aws`; credentials from
  /// its credential_file/profile, else the default chain read from `env`;
  /// user data paths relative to `dirs.confdir`. Every AWS call stops at
  /// `deadline_ms` (on `clock`'s monotonic scale, 0 = none). `clock`
  /// (nullptr = the system clock) must outlive the session. Nothing is sent
  /// here; a missing region is a kConfigurationError.
  static Result<std::unique_ptr<AwsSession>> Create(const ProviderConfig& config,
                                                    const Directories& dirs, const Clock* clock,
                                                    const std::map<std::string, std::string>& env,
                                                    int64_t deadline_ms);
  ~AwsSession();
  AwsSession(const AwsSession&) = delete;
  AwsSession& operator=(const AwsSession&) = delete;

  /// The provider for launching, describing and releasing machines.
  Provider& provider();
  /// The underlying client (for its deadline, or calls the provider lacks).
  aws::AwsClient& client();
  /// Call, attempt and retry counts so far.
  aws::ClientStats stats() const;

 private:
  AwsSession();

  SystemClock system_clock_;
  // Declared in dependency order: members are destroyed in reverse, so the
  // provider goes before the client, and the client before what it points to.
  std::unique_ptr<aws::SocketTransport> transport_;
  std::unique_ptr<aws::SocketTransport> local_transport_;  // metadata endpoints, never proxied
  std::unique_ptr<aws::CredentialChain> credentials_;
  std::unique_ptr<aws::AwsClient> client_;
  std::unique_ptr<AwsProvider> provider_;
};

}  // namespace ohfp
