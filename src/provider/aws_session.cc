#include "provider/aws_session.h"

#include <algorithm>
#include <utility>

#include "aws/credentials.h"
#include "aws/socket_transport.h"
#include "provider/aws_provider.h"

namespace ohfp {

AwsSession::AwsSession() = default;
AwsSession::~AwsSession() = default;

Result<std::unique_ptr<AwsSession>> AwsSession::Create(
    const ProviderConfig& config, const Directories& dirs, const Clock* clock,
    const std::map<std::string, std::string>& env, int64_t deadline_ms) {
  const AwsSettings& settings = config.aws;
  if (settings.region.empty()) return Status::Configuration("no AWS region configured");

  std::unique_ptr<AwsSession> session(new AwsSession());
  if (clock == nullptr) clock = &session->system_clock_;

  aws::TransportOptions transport;
  transport.proxy.host = settings.proxy_host;
  transport.proxy.port = settings.proxy_port;
  // The AWS CLI and SDKs read the same variable for a private CA.
  if (auto it = env.find("AWS_CA_BUNDLE"); it != env.end()) transport.ca_bundle = it->second;
  session->transport_ = std::make_unique<aws::SocketTransport>(transport);

  // Container and instance-metadata credentials live on link-local or
  // loopback addresses that a corporate proxy cannot reach.
  aws::HttpTransport* credential_transport = session->transport_.get();
  if (!transport.proxy.host.empty()) {
    session->local_transport_ = std::make_unique<aws::SocketTransport>();
    credential_transport = session->local_transport_.get();
  }
  session->credentials_ = aws::DefaultCredentialChain(
      env, settings.credential_file, settings.profile, credential_transport, clock);

  aws::ClientOptions options;
  options.region = settings.region;
  options.endpoint_url = settings.endpoint_url;
  options.connect_timeout_ms = settings.connection_timeout_ms;
  options.request_timeout_ms = settings.request_timeout_ms;
  // Describes run on every poll and must ride out throttling, so never fewer
  // than the SDKs' three attempts. A launch is repeated here only when EC2
  // surely did not act on it (see Ec2Client::RunInstances).
  options.max_attempts =
      static_cast<int>(std::max<int64_t>(3, 1 + settings.request_retry_attempts));
  options.deadline_ms = deadline_ms;
  session->client_ = std::make_unique<aws::AwsClient>(options, session->transport_.get(),
                                                      session->credentials_.get(), clock, env);

  session->provider_ =
      std::make_unique<AwsProvider>(session->client_.get(), AwsProviderOptions{dirs.confdir});
  return session;
}

Provider& AwsSession::provider() { return *provider_; }

aws::AwsClient& AwsSession::client() { return *client_; }

aws::ClientStats AwsSession::stats() const { return client_->stats(); }

}  // namespace ohfp
