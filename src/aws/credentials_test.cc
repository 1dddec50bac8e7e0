#include "aws/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/fake_transport.h"

namespace ohfp::aws {
namespace {

using testsupport::FakeTransport;
using testsupport::MakeResponse;
using testsupport::RequestHeader;
using testsupport::TransportError;

class TestClock : public Clock {
 public:
  int64_t NowSeconds() const override { return now; }
  int64_t MonotonicMillis() const override { return now * 1000; }
  int64_t now = ParseIso8601("2026-12-01T00:00:00Z");
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ohfp-cred-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const char kCredsJson[] =
    R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS",)"
    R"("SecretAccessKey":"imds-secret","Token":"imds-token",)"
    R"("Expiration":"2026-12-01T06:00:00Z","LastUpdated":"2026-12-01T00:00:00Z"})";

TEST(IniTest, ParsesSectionsKeysAndComments) {
  IniFile ini = ParseIni(
      "# comment\n[default]\naws_access_key_id = AKID\r\nAWS_Secret_Access_Key=s=e\n"
      "; other\n[profile dev]\nregion=eu-west-1\nservices = x\n  ec2 =\n    endpoint_url = y\n"
      "[broken\nkey=ignored\n");
  EXPECT_EQ(ini["default"]["aws_access_key_id"], "AKID");
  EXPECT_EQ(ini["default"]["aws_secret_access_key"], "s=e");
  EXPECT_EQ(ini["profile dev"]["region"], "eu-west-1");
  EXPECT_EQ(ini["profile dev"].count("ec2"), 0u);
  EXPECT_EQ(ini["profile dev"].count("endpoint_url"), 0u);
  EXPECT_EQ(ini["profile dev"].count("key"), 0u);
}

TEST(EnvironmentCredentialsTest, ReadsKeysAndToken) {
  EnvironmentCredentials env({{"AWS_ACCESS_KEY_ID", "AKID"},
                              {"AWS_SECRET_ACCESS_KEY", "secret"},
                              {"AWS_SESSION_TOKEN", "tok"},
                              {"AWS_CREDENTIAL_EXPIRATION", "2026-12-01T01:00:00Z"}});
  Result<Credentials> c = env.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKID");
  EXPECT_EQ(c->secret_access_key, "secret");
  EXPECT_EQ(c->session_token, "tok");
  EXPECT_EQ(c->expiration, ParseIso8601("2026-12-01T01:00:00Z"));
}

TEST(EnvironmentCredentialsTest, OlderTokenName) {
  EnvironmentCredentials env(
      {{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "S"}, {"AWS_SECURITY_TOKEN", "T"}});
  EXPECT_EQ(env.Get()->session_token, "T");
}

TEST(EnvironmentCredentialsTest, AbsentIsNotFoundPartialIsAnError) {
  EXPECT_EQ(EnvironmentCredentials({}).Get().status().code(), ErrorCode::kNotFound);
  Result<Credentials> partial =
      EnvironmentCredentials(Environment{{"AWS_ACCESS_KEY_ID", "AKID"}}).Get();
  EXPECT_EQ(partial.status().code(), ErrorCode::kConfigurationError);
  partial = EnvironmentCredentials(Environment{{"AWS_SECRET_ACCESS_KEY", "very-secret"}}).Get();
  EXPECT_EQ(partial.status().code(), ErrorCode::kConfigurationError);
  EXPECT_EQ(partial.status().message().find("very-secret"), std::string::npos);
}

TEST(ProfileCredentialsTest, CredentialsFileThenConfigFile) {
  TempDir dir;
  std::string creds = dir.Write("credentials",
                                "[default]\naws_access_key_id=D\naws_secret_access_key=DS\n"
                                "[dev]\naws_access_key_id=V\naws_secret_access_key=VS\n"
                                "aws_session_token=VT\n");
  std::string config = dir.Write("config",
                                 "[default]\nregion=us-east-1\n"
                                 "[profile ops]\naws_access_key_id=O\naws_secret_access_key=OS\n"
                                 "[ops]\naws_access_key_id=WRONG\naws_secret_access_key=W\n");
  EXPECT_EQ(ProfileCredentials(creds, config, "default").Get()->access_key_id, "D");
  Result<Credentials> dev = ProfileCredentials(creds, config, "dev").Get();
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->session_token, "VT");
  // In the config file a named profile is [profile name], never [name].
  EXPECT_EQ(ProfileCredentials(creds, config, "ops").Get()->access_key_id, "O");
  EXPECT_EQ(ProfileCredentials(creds, config, "none").Get().status().code(), ErrorCode::kNotFound);
}

TEST(ProfileCredentialsTest, DefaultFromConfigFileAndMissingFiles) {
  TempDir dir;
  std::string config =
      dir.Write("config", "[default]\naws_access_key_id=C\naws_secret_access_key=CS\n");
  EXPECT_EQ(ProfileCredentials(dir.path() + "/nope", config, "default").Get()->access_key_id, "C");
  EXPECT_EQ(
      ProfileCredentials(dir.path() + "/a", dir.path() + "/b", "default").Get().status().code(),
      ErrorCode::kNotFound);
}

TEST(ProfileCredentialsTest, HalfAKeyPairIsAnError) {
  TempDir dir;
  std::string creds = dir.Write("credentials", "[default]\naws_access_key_id=D\n");
  EXPECT_EQ(ProfileCredentials(creds, "", "default").Get().status().code(),
            ErrorCode::kConfigurationError);
}

TEST(CredentialFileCredentialsTest, ReadsTheChosenProfile) {
  TempDir dir;
  std::string file = dir.Write("awscreds",
                               "[default]\naws_access_key_id=D\naws_secret_access_key=DS\n"
                               "[profile hf]\naws_access_key_id=H\naws_secret_access_key=HS\n");
  EXPECT_EQ(CredentialFileCredentials(file, "").Get()->access_key_id, "D");
  EXPECT_EQ(CredentialFileCredentials(file, "hf").Get()->access_key_id, "H");
}

TEST(CredentialFileCredentialsTest, MissingFileOrProfileIsAConfigurationError) {
  TempDir dir;
  std::string file = dir.Write("awscreds", "[other]\naws_access_key_id=D\n");
  EXPECT_EQ(CredentialFileCredentials(dir.path() + "/none", "").Get().status().code(),
            ErrorCode::kConfigurationError);
  EXPECT_EQ(CredentialFileCredentials(file, "").Get().status().code(),
            ErrorCode::kConfigurationError);
  std::string empty = dir.Write("empty", "[default]\nregion=x\n");
  EXPECT_EQ(CredentialFileCredentials(empty, "").Get().status().code(),
            ErrorCode::kConfigurationError);
}

TEST(ContainerCredentialsTest, RelativeUri) {
  FakeTransport transport;
  transport.PushResponse(200, R"({"AccessKeyId":"ASIAC","SecretAccessKey":"cs","Token":"ct",)"
                              R"("Expiration":"2026-12-01T06:00:00Z"})");
  ContainerCredentials source({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds/abc"}},
                              &transport);
  Result<Credentials> c = source.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAC");
  EXPECT_EQ(c->session_token, "ct");
  EXPECT_EQ(c->expiration, ParseIso8601("2026-12-01T06:00:00Z"));
  ASSERT_EQ(transport.requests().size(), 1u);
  EXPECT_EQ(transport.requests()[0].url, "http://169.254.170.2/v2/creds/abc");
  EXPECT_EQ(transport.requests()[0].method, "GET");
  EXPECT_EQ(RequestHeader(transport.requests()[0], "Authorization"), "");
}

TEST(ContainerCredentialsTest, FullUriWithTokenFile) {
  TempDir dir;
  std::string token = dir.Write("token", "pod-token\n");
  FakeTransport transport;
  transport.PushResponse(200, R"({"AccessKeyId":"A","SecretAccessKey":"S","Token":"T"})");
  ContainerCredentials source({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/c"},
                               {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token},
                               {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored"}},
                              &transport);
  ASSERT_TRUE(source.Get().ok());
  EXPECT_EQ(transport.requests()[0].url, "http://127.0.0.1:9/c");
  EXPECT_EQ(RequestHeader(transport.requests()[0], "Host"), "127.0.0.1:9");
  EXPECT_EQ(RequestHeader(transport.requests()[0], "Authorization"), "pod-token");
}

TEST(ContainerCredentialsTest, FullUriMustBeLocal) {
  FakeTransport transport;
  for (const char* url : {"http://10.0.0.1/c", "http://example.com/c", "http://128.0.0.1/"}) {
    ContainerCredentials source({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", url}}, &transport);
    EXPECT_EQ(source.Get().status().code(), ErrorCode::kConfigurationError) << url;
  }
  for (const char* url : {"http://localhost:1/", "http://169.254.170.23/v1",
                          "http://[fd00:ec2::23]/v1", "http://127.1.2.3/"}) {
    transport.PushResponse(200, R"({"AccessKeyId":"A","SecretAccessKey":"S"})");
    ContainerCredentials source({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", url}}, &transport);
    EXPECT_TRUE(source.Get().ok()) << url;
  }
  EXPECT_TRUE(transport.requests().size() == 4u);
}

TEST(ContainerCredentialsTest, AbsentAndFailing) {
  FakeTransport transport;
  EXPECT_EQ(ContainerCredentials({}, &transport).Get().status().code(), ErrorCode::kNotFound);
  transport.PushResponse(500, "oops");
  ContainerCredentials source({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/x"}}, &transport);
  EXPECT_EQ(source.Get().status().code(), ErrorCode::kProviderError);
  transport.PushResponse(200, "not json");
  EXPECT_EQ(source.Get().status().code(), ErrorCode::kProviderError);
}

TEST(InstanceMetadataCredentialsTest, ImdsV2Sequence) {
  FakeTransport transport;
  transport.PushResponse(200, "tok-123");
  transport.PushResponse(200, "my-role\n");
  transport.PushResponse(200, kCredsJson);
  InstanceMetadataCredentials source({}, &transport);
  Result<Credentials> c = source.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");
  EXPECT_EQ(c->secret_access_key, "imds-secret");
  EXPECT_EQ(c->session_token, "imds-token");
  EXPECT_EQ(c->expiration, ParseIso8601("2026-12-01T06:00:00Z"));

  const auto& r = transport.requests();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].method, "PUT");
  EXPECT_EQ(r[0].url, "http://169.254.169.254/latest/api/token");
  EXPECT_EQ(RequestHeader(r[0], "X-aws-ec2-metadata-token-ttl-seconds"), "21600");
  EXPECT_EQ(r[0].timeout_ms, 1000);
  EXPECT_EQ(r[1].method, "GET");
  EXPECT_EQ(r[1].url, "http://169.254.169.254/latest/meta-data/iam/security-credentials/");
  EXPECT_EQ(RequestHeader(r[1], "X-aws-ec2-metadata-token"), "tok-123");
  EXPECT_EQ(r[2].url, "http://169.254.169.254/latest/meta-data/iam/security-credentials/my-role");
  EXPECT_EQ(RequestHeader(r[2], "X-aws-ec2-metadata-token"), "tok-123");
}

TEST(InstanceMetadataCredentialsTest, EndpointOverrideAndIpv6Mode) {
  FakeTransport transport;
  EXPECT_EQ(InstanceMetadataCredentials(
                {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:5123/"}}, &transport)
                .endpoint(),
            "http://127.0.0.1:5123");
  EXPECT_EQ(
      InstanceMetadataCredentials({{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"}}, &transport)
          .endpoint(),
      "http://[fd00:ec2::254]");
}

TEST(InstanceMetadataCredentialsTest, DisabledMakesNoRequest) {
  FakeTransport transport;
  InstanceMetadataCredentials source({{"AWS_EC2_METADATA_DISABLED", "TRUE"}}, &transport);
  EXPECT_EQ(source.Get().status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(transport.requests().empty());
}

TEST(InstanceMetadataCredentialsTest, UnreachableIsNotFoundAfterTwoTries) {
  FakeTransport transport;
  transport.PushTransportError("connect");
  transport.PushTransportError("timeout");
  InstanceMetadataCredentials source({}, &transport);
  EXPECT_EQ(source.Get().status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(transport.requests().size(), 2u);
}

TEST(InstanceMetadataCredentialsTest, FallsBackToV1UnlessForbidden) {
  FakeTransport transport;
  transport.PushResponse(403, "");
  transport.PushResponse(200, "role");
  transport.PushResponse(200, kCredsJson);
  EXPECT_TRUE(InstanceMetadataCredentials({}, &transport).Get().ok());
  EXPECT_EQ(RequestHeader(transport.requests()[1], "X-aws-ec2-metadata-token"), "");

  FakeTransport strict;
  strict.PushResponse(403, "");
  InstanceMetadataCredentials source({{"AWS_EC2_METADATA_V1_DISABLED", "true"}}, &strict);
  EXPECT_EQ(source.Get().status().code(), ErrorCode::kProviderError);
  EXPECT_EQ(strict.requests().size(), 1u);
}

TEST(InstanceMetadataCredentialsTest, NoRoleAndRefusedCredentials) {
  FakeTransport transport;
  transport.PushResponse(200, "tok");
  transport.PushResponse(404, "");
  EXPECT_EQ(InstanceMetadataCredentials({}, &transport).Get().status().code(),
            ErrorCode::kNotFound);

  transport.PushResponse(200, "tok");
  transport.PushResponse(200, "role");
  transport.PushResponse(200, R"({"Code":"AssumeRoleUnauthorizedAccess","Message":"no"})");
  EXPECT_EQ(InstanceMetadataCredentials({}, &transport).Get().status().code(),
            ErrorCode::kProviderError);
}

TEST(CredentialChainTest, FirstSourceWinsAndIsCached) {
  FakeTransport transport;
  transport.set_handler([](const HttpRequest&) { return MakeResponse(500, ""); });
  std::unique_ptr<CredentialChain> chain =
      DefaultCredentialChain({{"AWS_ACCESS_KEY_ID", "E"},
                              {"AWS_SECRET_ACCESS_KEY", "ES"},
                              {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c"},
                              {"AWS_CONFIG_FILE", "/nonexistent/f"}},
                             "", "", &transport);
  Result<Credentials> c = chain->Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "E");
  EXPECT_EQ(chain->source(), "environment");
  EXPECT_TRUE(transport.requests().empty());
}

TEST(CredentialChainTest, FallsThroughToInstanceMetadataAndRefreshesBeforeExpiry) {
  TestClock clock;
  FakeTransport transport;
  transport.set_handler([](const HttpRequest& r) {
    if (r.method == "PUT") return MakeResponse(200, "tok");
    if (r.url.back() == '/') return MakeResponse(200, "role");
    return MakeResponse(200, kCredsJson);
  });
  std::unique_ptr<CredentialChain> chain = DefaultCredentialChain(
      {{"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c"}, {"AWS_CONFIG_FILE", "/nonexistent/f"}},
      "", "", &transport, &clock);
  ASSERT_TRUE(chain->Get().ok());
  EXPECT_EQ(chain->source(), "instance metadata");
  EXPECT_EQ(transport.requests().size(), 3u);

  clock.now += 3600;  // five hours left
  ASSERT_TRUE(chain->Get().ok());
  EXPECT_EQ(transport.requests().size(), 3u);

  clock.now = ParseIso8601("2026-12-01T05:56:00Z");  // four minutes left
  ASSERT_TRUE(chain->Get().ok());
  EXPECT_EQ(transport.requests().size(), 6u);
}

TEST(CredentialChainTest, SharedFilesAndProfileSelection) {
  TempDir dir;
  std::string creds = dir.Write("credentials",
                                "[default]\naws_access_key_id=D\naws_secret_access_key=DS\n"
                                "[p1]\naws_access_key_id=P1\naws_secret_access_key=S1\n"
                                "[p2]\naws_access_key_id=P2\naws_secret_access_key=S2\n");
  FakeTransport transport;
  Environment env = {{"AWS_SHARED_CREDENTIALS_FILE", creds},
                     {"AWS_CONFIG_FILE", dir.path() + "/none"},
                     {"AWS_EC2_METADATA_DISABLED", "true"}};
  EXPECT_EQ(DefaultCredentialChain(env, "", "", &transport)->Get()->access_key_id, "D");
  env["AWS_DEFAULT_PROFILE"] = "p2";
  EXPECT_EQ(DefaultCredentialChain(env, "", "", &transport)->Get()->access_key_id, "P2");
  env["AWS_PROFILE"] = "p1";
  EXPECT_EQ(DefaultCredentialChain(env, "", "", &transport)->Get()->access_key_id, "P1");
  EXPECT_EQ(DefaultCredentialChain(env, "", "p2", &transport)->Get()->access_key_id, "P2");

  // Environment keys beat AWS_PROFILE, but not an explicitly configured profile.
  env["AWS_ACCESS_KEY_ID"] = "E";
  env["AWS_SECRET_ACCESS_KEY"] = "ES";
  EXPECT_EQ(DefaultCredentialChain(env, "", "", &transport)->Get()->access_key_id, "E");
  EXPECT_EQ(DefaultCredentialChain(env, "", "p2", &transport)->Get()->access_key_id, "P2");
  EXPECT_TRUE(transport.requests().empty());
}

TEST(CredentialChainTest, HomeDirectoryDefaults) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/.aws");
  dir.Write(".aws/credentials", "[default]\naws_access_key_id=H\naws_secret_access_key=HS\n");
  FakeTransport transport;
  auto chain = DefaultCredentialChain({{"HOME", dir.path()}}, "", "", &transport);
  EXPECT_EQ(chain->Get()->access_key_id, "H");
}

TEST(CredentialChainTest, CredentialFileReplacesTheChain) {
  TempDir dir;
  std::string file = dir.Write("ibm", "[default]\naws_access_key_id=I\naws_secret_access_key=IS\n");
  FakeTransport transport;
  Environment env = {{"AWS_ACCESS_KEY_ID", "E"}, {"AWS_SECRET_ACCESS_KEY", "ES"}};
  EXPECT_EQ(DefaultCredentialChain(env, file, "", &transport)->Get()->access_key_id, "I");
  EXPECT_EQ(DefaultCredentialChain(env, dir.path() + "/x", "", &transport)->Get().status().code(),
            ErrorCode::kConfigurationError);
}

TEST(CredentialChainTest, ErrorsStopTheSearchAndNothingFoundIsAConfigurationError) {
  FakeTransport transport;
  Environment env = {{"AWS_ACCESS_KEY_ID", "E"},
                     {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c"},
                     {"AWS_CONFIG_FILE", "/nonexistent/f"}};
  Result<Credentials> c = DefaultCredentialChain(env, "", "", &transport)->Get();
  EXPECT_EQ(c.status().code(), ErrorCode::kConfigurationError);
  EXPECT_EQ(c.status().details().value("credential_source", ""), "environment");

  env.erase("AWS_ACCESS_KEY_ID");
  env["AWS_EC2_METADATA_DISABLED"] = "true";
  c = DefaultCredentialChain(env, "", "", &transport)->Get();
  EXPECT_EQ(c.status().code(), ErrorCode::kConfigurationError);
  EXPECT_NE(c.status().message().find("no AWS credentials found"), std::string::npos);
  EXPECT_TRUE(transport.requests().empty());
}

}  // namespace
}  // namespace ohfp::aws
