// Where AWS credentials come from, in the SDKs' order: the environment, the
// shared credentials and config files, the container endpoint, and EC2
// instance metadata (IMDSv2). IBM's AWS_CREDENTIAL_FILE, when configured,
// replaces the chain. All HTTP goes through an injected HttpTransport.
//
// Each source answers with credentials, with kNotFound ("nothing here, ask
// the next source"), or with another error, which ends the search: a
// half-configured source is a mistake to report, not to skip.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aws/aws_client.h"
#include "aws/http_transport.h"
#include "core/clock.h"
#include "core/status.h"

namespace ohfp::aws {

using Environment = std::map<std::string, std::string>;

/// INI sections: name (as written between brackets, trimmed) to key/value.
using IniFile = std::map<std::string, std::map<std::string, std::string>>;

/// Parses INI text: "[section]", "key = value", '#'/';' comments; indented
/// lines (nested sub-sections) are ignored. Keys are lower-cased.
IniFile ParseIni(const std::string& text);

/// A fixed key pair (moto, tests, or credentials resolved elsewhere).
class StaticCredentials : public CredentialsProvider {
 public:
  explicit StaticCredentials(Credentials credentials) : credentials_(std::move(credentials)) {}
  Result<Credentials> Get() override { return credentials_; }

 private:
  Credentials credentials_;
};

/// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN, or the older
/// AWS_SECURITY_TOKEN, and AWS_CREDENTIAL_EXPIRATION). Only one of the two
/// keys set is a kConfigurationError.
class EnvironmentCredentials : public CredentialsProvider {
 public:
  explicit EnvironmentCredentials(Environment env) : env_(std::move(env)) {}
  Result<Credentials> Get() override;

 private:
  Environment env_;
};

/// A profile of the shared files: section [name] of the credentials file,
/// then [profile name] ([default] for "default") of the config file. Missing
/// files or profiles are kNotFound; a profile with only one key is a
/// kConfigurationError.
class ProfileCredentials : public CredentialsProvider {
 public:
  ProfileCredentials(std::string credentials_path, std::string config_path, std::string profile);
  Result<Credentials> Get() override;

 private:
  std::string credentials_path_;
  std::string config_path_;
  std::string profile_;
};

/// An explicitly configured credentials file (IBM's AWS_CREDENTIAL_FILE), in
/// the shared-file format; the profile is [profile] or [profile <profile>],
/// "default" when empty. Unlike the shared files, a missing file or profile
/// is a kConfigurationError: the configuration asked for it.
class CredentialFileCredentials : public CredentialsProvider {
 public:
  CredentialFileCredentials(std::string path, std::string profile);
  Result<Credentials> Get() override;

 private:
  std::string path_;
  std::string profile_;
};

/// The ECS / EKS Pod Identity endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
/// (on http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI (loopback,
/// 169.254.170.2, 169.254.170.23 or fd00:ec2::23 only), with the Authorization
/// value from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
/// AWS_CONTAINER_AUTHORIZATION_TOKEN.
class ContainerCredentials : public CredentialsProvider {
 public:
  ContainerCredentials(Environment env, HttpTransport* transport);
  Result<Credentials> Get() override;

 private:
  Environment env_;
  HttpTransport* transport_;
};

/// EC2 instance metadata, IMDSv2: PUT a token, GET the role name, GET the
/// role's credentials, with 1 s timeouts. AWS_EC2_METADATA_DISABLED=true
/// skips it; AWS_EC2_METADATA_SERVICE_ENDPOINT (or ..._ENDPOINT_MODE=IPv6)
/// moves it. Falls back to IMDSv1 when the token call is refused unless
/// AWS_EC2_METADATA_V1_DISABLED=true. No metadata service is kNotFound.
class InstanceMetadataCredentials : public CredentialsProvider {
 public:
  InstanceMetadataCredentials(Environment env, HttpTransport* transport);
  Result<Credentials> Get() override;

  /// The base URL used ("http://169.254.169.254" by default).
  std::string endpoint() const;

 private:
  Result<HttpResponse> Fetch(const std::string& method, const std::string& path,
                             const std::string& token);
  Environment env_;
  HttpTransport* transport_;
};

/// Asks `sources` in order and caches the first credentials found until five
/// minutes before they expire. Nothing found anywhere is a
/// kConfigurationError.
class CredentialChain : public CredentialsProvider {
 public:
  /// `clock` (nullptr = the system clock) must outlive the chain.
  CredentialChain(std::vector<std::unique_ptr<CredentialsProvider>> sources,
                  std::vector<std::string> source_names, const Clock* clock = nullptr);
  Result<Credentials> Get() override;

  /// The name of the source that gave the cached credentials ("" if none).
  std::string source() const;

 private:
  std::vector<std::unique_ptr<CredentialsProvider>> sources_;
  std::vector<std::string> names_;
  const Clock* clock_;
  SystemClock system_clock_;
  mutable std::mutex mu_;
  bool cached_ = false;
  Credentials credentials_;
  std::string source_;
};

/// The chain for a provider: `credential_file` alone when it is not empty;
/// otherwise environment, shared files (AWS_SHARED_CREDENTIALS_FILE,
/// AWS_CONFIG_FILE, ~/.aws), container, instance metadata. The profile is
/// `profile`, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default"; an
/// explicit `profile` also takes the environment keys out of the chain.
/// `transport` and `clock` (nullptr = system clock) must outlive the chain.
std::unique_ptr<CredentialChain> DefaultCredentialChain(const Environment& env,
                                                        const std::string& credential_file,
                                                        const std::string& profile,
                                                        HttpTransport* transport,
                                                        const Clock* clock = nullptr);

}  // namespace ohfp::aws
