#include "config/provider_config.h"
#include "support/scratch_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ohfp {
namespace {

using Env = std::map<std::string, std::string>;
using ::testing::HasSubstr;
using ::testing::Not;

using testsupport::ScratchDir;

// A provider instance laid out in a scratch directory.
class ProviderConfigTest : public ::testing::Test {
 protected:
  ProviderConfigTest() {
    dirs_.provider_name = "awsinst";
    dirs_.confdir = dir_.path();
    dirs_.workdir = "/var/ohfp/work";
    dirs_.logdir = "/var/ohfp/log";
  }

  Result<ProviderConfig> Load(const Env& env = {}, const std::string& explicit_path = "") {
    return LoadProviderConfig(dirs_, explicit_path, env);
  }
  // Loads with `ibm` as awsprov_config.json (a region is added unless given).
  Result<ProviderConfig> LoadIbm(nlohmann::json ibm, const Env& env = {}) {
    if (!ibm.contains("AWS_REGION")) ibm["AWS_REGION"] = "eu-west-1";
    dir_.Write("awsprov_config.json", ibm.dump());
    return Load(env);
  }
  Result<ProviderConfig> LoadJson(const nlohmann::json& config, Env env = {}) {
    dir_.Write("config.json", config.dump());
    env.emplace("AWS_REGION", "us-east-1");
    return Load(env);
  }

  ScratchDir dir_;
  Directories dirs_;
};

void ExpectError(const Result<ProviderConfig>& r, std::initializer_list<std::string> words) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kConfigurationError);
  for (const std::string& w : words) EXPECT_THAT(r.status().message(), HasSubstr(w));
}

// --- Directories ---

TEST(ResolveDirectoriesTest, ProviderVariablesWin) {
  Directories d = ResolveDirectories({{"HF_PROVIDER_NAME", "awsinst"},
                                      {"HF_PROVIDER_CONFDIR", "/c/"},
                                      {"HF_PROVIDER_WORKDIR", "/w"},
                                      {"HF_PROVIDER_LOGDIR", "/l"},
                                      {"HF_CONFDIR", "/hc"},
                                      {"HF_WORKDIR", "/hw"},
                                      {"HF_LOGDIR", "/hl"}});
  EXPECT_EQ(d.provider_name, "awsinst");
  EXPECT_EQ(d.confdir, "/c");
  EXPECT_EQ(d.workdir, "/w");
  EXPECT_EQ(d.logdir, "/l");
}

TEST(ResolveDirectoriesTest, IbmDefaultsFromHostFactoryDirectories) {
  Directories d = ResolveDirectories({{"HF_PROVIDER_NAME", "awsinst"},
                                      {"HF_CONFDIR", "/opt/hf/conf/"},
                                      {"HF_WORKDIR", "/opt/hf/work"},
                                      {"HF_LOGDIR", "/opt/hf/log"}});
  EXPECT_EQ(d.confdir, "/opt/hf/conf/providers/awsinst");
  EXPECT_EQ(d.workdir, "/opt/hf/work/providers/awsinst");
  EXPECT_EQ(d.logdir, "/opt/hf/log");
}

TEST(ResolveDirectoriesTest, ManualRunsUseTheCurrentDirectory) {
  Directories d = ResolveDirectories({});
  EXPECT_EQ(d.provider_name, "");
  EXPECT_EQ(d.confdir, "./config");
  EXPECT_EQ(d.workdir, ".");
  EXPECT_EQ(d.logdir, "./logs");

  // Per-provider defaults need the provider name; empty values are unset.
  d = ResolveDirectories(
      {{"HF_CONFDIR", "/hc"}, {"HF_WORKDIR", "/hw"}, {"HF_PROVIDER_LOGDIR", ""}});
  EXPECT_EQ(d.confdir, "./config");
  EXPECT_EQ(d.workdir, ".");
  EXPECT_EQ(d.logdir, "./logs");
}

// --- Region and defaults ---

TEST_F(ProviderConfigTest, NoFilesIsFineWhenTheEnvironmentGivesARegion) {
  Result<ProviderConfig> r = Load({{"AWS_REGION", "ap-south-1"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->aws.region, "ap-south-1");
  EXPECT_EQ(r->config_path, "");
  EXPECT_EQ(r->config_json_path, "");
  EXPECT_EQ(r->aws.connection_timeout_ms, 10000);
  EXPECT_EQ(r->aws.request_retry_attempts, 0);
  EXPECT_EQ(r->aws.instance_pending_timeout_sec, 180);
  EXPECT_EQ(r->aws.describe_request_retry_attempts, 0);
  EXPECT_EQ(r->aws.describe_request_interval_ms, 0);
  EXPECT_EQ(r->action_timeout_sec, 240);
  EXPECT_EQ(r->storage.strategy, "sqlite");
  EXPECT_EQ(r->storage.path, "/var/ohfp/work/data/ohfp.db");
  EXPECT_EQ(r->logging.level, "INFO");
  EXPECT_EQ(r->logging.file_path, "/var/ohfp/log/awsinst.log");
  EXPECT_FALSE(r->logging.console_enabled);
  EXPECT_FALSE(r->logging.accept_propagated_setting);
}

TEST_F(ProviderConfigTest, DefaultRegionFallback) {
  Result<ProviderConfig> r = Load({{"AWS_DEFAULT_REGION", "us-west-2"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->aws.region, "us-west-2");
  r = Load({{"AWS_DEFAULT_REGION", "us-west-2"}, {"AWS_REGION", "us-east-2"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->aws.region, "us-east-2");
}

TEST_F(ProviderConfigTest, FileRegionBeatsTheEnvironment) {
  Result<ProviderConfig> r = LoadIbm({{"AWS_REGION", "eu-north-1"}}, {{"AWS_REGION", "us-east-1"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->aws.region, "eu-north-1");
}

TEST_F(ProviderConfigTest, NoRegionAnywhereIsAnError) {
  ExpectError(Load(), {"region"});
  ExpectError(LoadJson({{"logging", {{"level", "INFO"}}}}, {{"AWS_REGION", ""}}), {});
}

TEST_F(ProviderConfigTest, RegionMustLookLikeOne) {
  ExpectError(Load({{"AWS_REGION", "eu-west-1.evil.com/"}}), {"region"});
}

TEST_F(ProviderConfigTest, LogFileDefaultsToOhfpWithoutProviderName) {
  dirs_.provider_name = "";
  Result<ProviderConfig> r = Load({{"AWS_REGION", "us-east-1"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->logging.file_path, "/var/ohfp/log/ohfp.log");
}

// --- awsprov_config.json ---

TEST_F(ProviderConfigTest, ReadsTheContractExample) {
  dir_.Write("awsprov_config.json", R"({ "AWS_REGION": "eu-west-1",
    "AWS_ENDPOINT_URL": "https://ec2.eu-west-1.amazonaws.com:443",
    "AWS_CONNECTION_TIMEOUT_MS": 10000, "AWS_REQUEST_RETRY_ATTEMPTS": 2,
    "AWS_INSTANCE_PENDING_TIMEOUT_SEC": 300, "ACCEPT_PROPAGATED_LOG_SETTING": "false" })");
  Result<ProviderConfig> r = Load();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config_path, dir_.path() + "/awsprov_config.json");
  EXPECT_EQ(r->aws.region, "eu-west-1");
  EXPECT_EQ(r->aws.endpoint_url, "https://ec2.eu-west-1.amazonaws.com:443");
  EXPECT_EQ(r->aws.request_retry_attempts, 2);
  EXPECT_EQ(r->aws.instance_pending_timeout_sec, 300);
  EXPECT_FALSE(r->logging.accept_propagated_setting);
  EXPECT_TRUE(r->warnings.empty());
}

TEST_F(ProviderConfigTest, ReadsEveryIbmKeyGivenAsStrings) {
  Result<ProviderConfig> r = LoadIbm({{"AWS_REGION", "eu-west-3"},
                                      {"AWS_ENDPOINT_URL", "http://127.0.0.1:5000"},
                                      {"AWS_CREDENTIAL_FILE", "/etc/aws/creds"},
                                      {"AWS_PROFILE", "grid"},
                                      {"AWS_KEY_FILE", "keys"},
                                      {"AWS_PROXY_HOST", "proxy.corp"},
                                      {"AWS_PROXY_PORT", "3128"},
                                      {"AWS_CONNECTION_TIMEOUT_MS", "5000"},
                                      {"AWS_REQUEST_RETRY_ATTEMPTS", "3"},
                                      {"AWS_INSTANCE_PENDING_TIMEOUT_SEC", "600"},
                                      {"AWS_DESCRIBE_REQUEST_RETRY_ATTEMPTS", "4"},
                                      {"AWS_DESCRIBE_REQUEST_INTERVAL", "250"},
                                      {"LOG_LEVEL", "debug"},
                                      {"LOG_FILE", "mine.log"},
                                      {"LOG_CONSOLE_ENABLED", "true"},
                                      {"ACCEPT_PROPAGATED_LOG_SETTING", "TRUE"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const AwsSettings& a = r->aws;
  EXPECT_EQ(a.region, "eu-west-3");
  EXPECT_EQ(a.endpoint_url, "http://127.0.0.1:5000");
  EXPECT_EQ(a.credential_file, "/etc/aws/creds");
  EXPECT_EQ(a.profile, "grid");
  EXPECT_EQ(a.key_file, dir_.path() + "/keys");  // relative → confdir
  EXPECT_EQ(a.proxy_host, "proxy.corp");
  EXPECT_EQ(a.proxy_port, 3128);
  EXPECT_EQ(a.connection_timeout_ms, 5000);
  EXPECT_EQ(a.request_retry_attempts, 3);
  EXPECT_EQ(a.instance_pending_timeout_sec, 600);
  EXPECT_EQ(a.describe_request_retry_attempts, 4);
  EXPECT_EQ(a.describe_request_interval_ms, 250);
  EXPECT_EQ(r->logging.level, "DEBUG");
  EXPECT_EQ(r->logging.file_path, "/var/ohfp/log/mine.log");  // relative → logdir
  EXPECT_TRUE(r->logging.console_enabled);
  EXPECT_TRUE(r->logging.accept_propagated_setting);
}

TEST_F(ProviderConfigTest, BooleansInEveryForm) {
  for (nlohmann::json yes : {nlohmann::json(true), nlohmann::json("true"), nlohmann::json("True"),
                             nlohmann::json("1"), nlohmann::json(1)}) {
    Result<ProviderConfig> r = LoadIbm({{"ACCEPT_PROPAGATED_LOG_SETTING", yes}});
    ASSERT_TRUE(r.ok()) << yes.dump();
    EXPECT_TRUE(r->logging.accept_propagated_setting) << yes.dump();
  }
  for (nlohmann::json no : {nlohmann::json(false), nlohmann::json("false"), nlohmann::json("FALSE"),
                            nlohmann::json("0")}) {
    Result<ProviderConfig> r = LoadIbm({{"ACCEPT_PROPAGATED_LOG_SETTING", no}});
    ASSERT_TRUE(r.ok()) << no.dump();
    EXPECT_FALSE(r->logging.accept_propagated_setting) << no.dump();
  }
  ExpectError(LoadIbm({{"ACCEPT_PROPAGATED_LOG_SETTING", "maybe"}}),
              {"ACCEPT_PROPAGATED_LOG_SETTING", "true or false"});
}

TEST_F(ProviderConfigTest, EveryIntegerKeyHasItsRange) {
  struct Range {
    const char* key;
    int64_t min;
    int64_t max;
    int64_t AwsSettings::*field;
  };
  const Range ranges[] = {
      {"AWS_CONNECTION_TIMEOUT_MS", 1, 2147483647, &AwsSettings::connection_timeout_ms},
      {"AWS_REQUEST_TIMEOUT_MS", 1, 2147483647, &AwsSettings::request_timeout_ms},
      {"AWS_CALL_BUDGET_SEC", 0, 2147483647, &AwsSettings::call_budget_sec},
      {"AWS_REQUEST_RETRY_ATTEMPTS", 0, 10, &AwsSettings::request_retry_attempts},
      {"AWS_INSTANCE_PENDING_TIMEOUT_SEC", 180, 10000, &AwsSettings::instance_pending_timeout_sec},
      {"AWS_DESCRIBE_REQUEST_RETRY_ATTEMPTS", 0, 10, &AwsSettings::describe_request_retry_attempts},
      {"AWS_DESCRIBE_REQUEST_INTERVAL", 0, 10000, &AwsSettings::describe_request_interval_ms},
      {"AWS_PROXY_PORT", 1, 65535, &AwsSettings::proxy_port},
  };
  for (const Range& range : ranges) {
    SCOPED_TRACE(range.key);
    nlohmann::json base = {{"AWS_PROXY_HOST", "proxy"}, {"AWS_PROXY_PORT", 8080}};
    for (int64_t ok : {range.min, range.max}) {
      base[range.key] = ok;
      Result<ProviderConfig> r = LoadIbm(base);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->aws.*range.field, ok);
      base[range.key] = std::to_string(ok);  // the same as a string
      r = LoadIbm(base);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->aws.*range.field, ok);
    }
    for (int64_t bad : {range.min - 1, range.max + 1}) {
      base[range.key] = bad;
      ExpectError(LoadIbm(base), {range.key, std::to_string(bad), "outside",
                                  std::to_string(range.min) + ".." + std::to_string(range.max)});
    }
    base[range.key] = "ten";
    ExpectError(LoadIbm(base), {range.key, "integer", "ten"});
  }
}

TEST_F(ProviderConfigTest, ProxyPortRequiredWithHost) {
  ExpectError(LoadIbm({{"AWS_PROXY_HOST", "proxy.corp"}}), {"AWS_PROXY_PORT", "required"});
}

TEST_F(ProviderConfigTest, StringKeysMustBeStrings) {
  ExpectError(LoadIbm({{"AWS_PROXY_HOST", 12}}), {"AWS_PROXY_HOST", "string"});
}

TEST_F(ProviderConfigTest, EndpointUrlMustBeHttp) {
  ExpectError(LoadIbm({{"AWS_ENDPOINT_URL", "ec2.eu-west-1.amazonaws.com"}}),
              {"AWS_ENDPOINT_URL", "http"});
}

TEST_F(ProviderConfigTest, LogLevelsInEverySpelling) {
  const std::pair<const char*, const char*> cases[] = {
      {"TRACE", "TRACE"}, {"debug", "DEBUG"},   {"LOG_INFO", "INFO"}, {"WARNING", "WARN"},
      {"warn", "WARN"},   {"LOG_ERR", "ERROR"}, {"CRITICAL", "ERROR"}};
  for (const auto& [written, level] : cases) {
    Result<ProviderConfig> r = LoadIbm({{"LOG_LEVEL", written}});
    ASSERT_TRUE(r.ok()) << written;
    EXPECT_EQ(r->logging.level, level) << written;
  }
  ExpectError(LoadIbm({{"LOG_LEVEL", "LOUD"}}), {"LOG_LEVEL", "LOUD"});
}

TEST_F(ProviderConfigTest, UnknownIbmKeysAreWarnings) {
  Result<ProviderConfig> r = LoadIbm({{"AWS_SPOT_MAGIC", "1"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_THAT(r->warnings[0], HasSubstr("AWS_SPOT_MAGIC"));
}

TEST_F(ProviderConfigTest, InstanceConfigFileIsPreferred) {
  dir_.Write("awsprov_config.json", R"({"AWS_REGION": "eu-west-1"})");
  dir_.Write("awsinstprov_config.json", R"({"AWS_REGION": "eu-central-1"})");
  Result<ProviderConfig> r = Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->aws.region, "eu-central-1");
  EXPECT_EQ(r->config_path, dir_.path() + "/awsinstprov_config.json");

  dirs_.provider_name = "";
  r = Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->aws.region, "eu-west-1");
}

TEST_F(ProviderConfigTest, InvalidJsonGivesThePosition) {
  dir_.Write("awsprov_config.json", "{\n  \"AWS_REGION\": \"eu-west-1\",\n  \"X\": nope\n}");
  ExpectError(Load(), {"awsprov_config.json", "line 3", "column"});
  dir_.Write("awsprov_config.json", "[\"eu-west-1\"]");
  ExpectError(Load(), {"awsprov_config.json", "object"});
}

TEST_F(ProviderConfigTest, CredentialPathsResolveAgainstConfdirAndHome) {
  Result<ProviderConfig> r =
      LoadIbm({{"AWS_CREDENTIAL_FILE", "~/.aws/credentials"}}, {{"HOME", "/home/sym"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->aws.credential_file, "/home/sym/.aws/credentials");
  r = LoadIbm({{"AWS_CREDENTIAL_FILE", "creds"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->aws.credential_file, dir_.path() + "/creds");
}

// --- config.json ---

TEST_F(ProviderConfigTest, ReadsTheContractConfigJsonExample) {
  dir_.Write("config.json", R"({ "version": "2.0.0",
    "scheduler": { "type": "hostfactory", "config_root": "$HF_PROVIDER_CONFDIR" },
    "provider": { "providers": [ { "name": "aws-eu", "type": "aws", "enabled": true,
                                   "config": { "region": "eu-west-1", "max_retries": 3 } } ] },
    "storage": { "strategy": "json",
                 "json_strategy": { "storage_type": "single_file", "base_path": "data" } },
    "logging": { "level": "INFO", "console_enabled": false } })");
  Result<ProviderConfig> r = Load();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config_json_path, dir_.path() + "/config.json");
  EXPECT_EQ(r->aws.region, "eu-west-1");
  EXPECT_EQ(r->storage.strategy, "json");
  EXPECT_EQ(r->storage.path, "/var/ohfp/work/data/request_database.json");
  EXPECT_EQ(r->logging.level, "INFO");
}

TEST_F(ProviderConfigTest, JsonStorage) {
  Result<ProviderConfig> r = LoadJson(
      {{"storage",
        {{"strategy", "json"},
         {"json_strategy",
          {{"base_path", "/srv/state"}, {"filenames", {{"single_file", "reqs.json"}}}}}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->storage.path, "/srv/state/reqs.json");

  r = LoadJson({{"storage", {{"strategy", "json"}, {"json_strategy", {{"base_path", "db"}}}}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->storage.path, "/var/ohfp/work/db/request_database.json");

  r = LoadJson({{"storage", {{"strategy", "json"}}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->storage.path, "/var/ohfp/work/data/request_database.json");

  ExpectError(
      LoadJson({{"storage",
                 {{"strategy", "json"}, {"json_strategy", {{"storage_type", "split_files"}}}}}}),
      {"storage.json_strategy.storage_type", "split_files", "not supported yet"});
}

TEST_F(ProviderConfigTest, SqlStorage) {
  Result<ProviderConfig> r = LoadJson({{"storage", {{"strategy", "sql"}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->storage.strategy, "sqlite");
  EXPECT_EQ(r->storage.path, "/var/ohfp/work/data/ohfp.db");

  r = LoadJson({{"storage",
                 {{"strategy", "sql"}, {"sql_strategy", {{"type", "sqlite"}, {"name", "x.db"}}}}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->storage.path, "/var/ohfp/work/data/x.db");

  r = LoadJson({{"storage", {{"strategy", "sqlite"}, {"sql_strategy", {{"name", "/db/y.db"}}}}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->storage.strategy, "sqlite");
  EXPECT_EQ(r->storage.path, "/db/y.db");

  ExpectError(
      LoadJson({{"storage", {{"strategy", "sql"}, {"sql_strategy", {{"type", "postgresql"}}}}}}),
      {"storage.sql_strategy.type", "postgresql", "not supported yet"});
  ExpectError(LoadJson({{"storage", {{"strategy", "dynamodb"}}}}),
              {"storage.strategy", "dynamodb", "not supported"});
}

TEST_F(ProviderConfigTest, LoggingSection) {
  Result<ProviderConfig> r = LoadJson({{"logging",
                                        {{"level", "WARNING"},
                                         {"file_path", "sub/app.log"},
                                         {"console_enabled", "true"},
                                         {"max_size", 2048},
                                         {"backup_count", "3"},
                                         {"accept_propagated_setting", true}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->logging.level, "WARN");
  EXPECT_EQ(r->logging.file_path, "/var/ohfp/log/sub/app.log");
  EXPECT_TRUE(r->logging.console_enabled);
  EXPECT_EQ(r->logging.max_size_bytes, 2048);
  EXPECT_EQ(r->logging.max_files, 3);
  EXPECT_TRUE(r->logging.accept_propagated_setting);

  r = LoadJson({{"logging", {{"file_path", "/abs/x.log"}}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->logging.file_path, "/abs/x.log");
  ExpectError(LoadJson({{"logging", {{"max_size", 0}}}}), {"logging.max_size"});
  ExpectError(LoadJson({{"logging", {{"level", "chatty"}}}}), {"logging.level", "chatty"});
}

TEST_F(ProviderConfigTest, ProviderBlockFillsWhatTheIbmFileLeavesUnset) {
  dir_.Write("config.json", R"({"provider": {"providers": [{"config": {
      "region": "us-west-1", "endpoint_url": "http://127.0.0.1:9999", "profile": "p",
      "credential_file": "/c/creds", "proxy_host": "h", "proxy_port": 1,
      "connection_timeout_ms": 7, "request_retry_attempts": 1,
      "instance_pending_timeout_sec": 200, "describe_request_retry_attempts": 2,
      "describe_request_interval": 30, "key_file": "/k"}}]}})");
  Result<ProviderConfig> r = Load();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->aws.region, "us-west-1");
  EXPECT_EQ(r->aws.endpoint_url, "http://127.0.0.1:9999");
  EXPECT_EQ(r->aws.profile, "p");
  EXPECT_EQ(r->aws.credential_file, "/c/creds");
  EXPECT_EQ(r->aws.proxy_port, 1);
  EXPECT_EQ(r->aws.connection_timeout_ms, 7);
  EXPECT_EQ(r->aws.instance_pending_timeout_sec, 200);
  EXPECT_EQ(r->aws.describe_request_interval_ms, 30);
  EXPECT_EQ(r->aws.key_file, "/k");

  dir_.Write("awsprov_config.json",
             R"({"AWS_REGION": "eu-west-2", "AWS_CONNECTION_TIMEOUT_MS": "9"})");
  r = Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->aws.region, "eu-west-2");
  EXPECT_EQ(r->aws.connection_timeout_ms, 9);
  EXPECT_EQ(r->aws.profile, "p");  // not in the IBM file, so config.json's stays

  ExpectError(LoadJson({{"provider", {{"providers", {{{"config", {{"proxy_port", 0}}}}}}}}}),
              {"provider.providers[0].config.proxy_port", "1..65535"});
}

TEST_F(ProviderConfigTest, SecretsAreLoadedButNeverEchoed) {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET";
  dir_.Write("config.json", R"({"provider": {"providers": [{"config": {
      "region": "us-east-1", "access_key_id": "AKIAEXAMPLE",
      "secret_access_key": ")" + secret +
                                R"(", "session_token": "tok$en"}}]}})");
  Result<ProviderConfig> r = Load();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->aws.access_key_id, "AKIAEXAMPLE");
  EXPECT_EQ(r->aws.secret_access_key, secret);
  EXPECT_EQ(r->aws.session_token, "tok$en");  // no $VAR expansion in secrets

  // A syntax error right after the secret must not quote it.
  dir_.Write("config.json", R"({"provider": {"providers": [{"config": {
      "secret_access_key": ")" + secret +
                                R"(" oops }}]}})");
  r = Load();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("line"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("SECRET")));

  // Nor does a badly typed secret.
  dir_.Write("config.json",
             R"({"provider": {"providers": [{"config": {"secret_access_key": ["SECRETX"]}}]}})");
  r = Load({{"AWS_REGION", "us-east-1"}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("secret_access_key"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("SECRETX")));
}

TEST_F(ProviderConfigTest, ExplicitConfigPath) {
  ScratchDir other;
  std::string path = other.Write(
      "mine.json", R"({"provider": {"providers": [{"config": {"region": "sa-east-1"}}]}})");
  dir_.Write("config.json",
             R"({"provider": {"providers": [{"config": {"region": "af-south-1"}}]}})");
  Result<ProviderConfig> r = Load({}, path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->aws.region, "sa-east-1");
  EXPECT_EQ(r->config_json_path, path);

  ExpectError(Load({}, other.path() + "/missing.json"), {"missing.json", "not found"});
}

TEST_F(ProviderConfigTest, ExpandsVariablesInStrings) {
  Result<ProviderConfig> r =
      LoadJson({{"storage",
                 {{"strategy", "json"},
                  {"json_strategy", {{"base_path", "$STATE_ROOT/${SUB}x/$UNSET_VAR"}}}}},
                {"logging", {{"file_path", "${LOGS}/a.log"}}}},
               {{"STATE_ROOT", "/state"}, {"SUB", "s"}, {"LOGS", "/logs"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->storage.path, "/state/sx/$UNSET_VAR/request_database.json");
  EXPECT_EQ(r->logging.file_path, "/logs/a.log");

  r = LoadIbm({{"AWS_ENDPOINT_URL", "http://127.0.0.1:${MOTO_PORT}"}}, {{"MOTO_PORT", "5123"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->aws.endpoint_url, "http://127.0.0.1:5123");
}

TEST_F(ProviderConfigTest, WronglyShapedSectionsAreErrors) {
  ExpectError(LoadJson({{"storage", "json"}}), {"storage"});
  ExpectError(LoadJson({{"logging", 1}}), {"logging"});
  ExpectError(LoadJson({{"provider", {{"providers", "aws"}}}}), {"provider.providers"});
  ExpectError(LoadJson({{"provider", {{"providers", {1}}}}}), {"provider.providers[0]"});
}

// --- Environment ---

TEST_F(ProviderConfigTest, CallBudgetFitsInsideTheActionTimeout) {
  Result<ProviderConfig> r = LoadIbm({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->aws.request_timeout_ms, 30000);
  EXPECT_EQ(CallBudgetMs(*r), 235000);  // 240 s less 5 s

  r = LoadIbm({}, {{"HF_PROVIDER_ACTION_TIMEOUT", "8"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(CallBudgetMs(*r), 7200);  // a tenth of a short timeout is kept back

  // The config key can shorten the budget, never stretch it past Host Factory's limit.
  r = LoadIbm({{"AWS_CALL_BUDGET_SEC", 60}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(CallBudgetMs(*r), 60000);
  r = LoadIbm({{"AWS_CALL_BUDGET_SEC", 600}}, {{"HF_PROVIDER_ACTION_TIMEOUT", "100"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(CallBudgetMs(*r), 95000);
}

TEST_F(ProviderConfigTest, CallBudgetAndAttemptTimeoutFromConfigJson) {
  Result<ProviderConfig> r = LoadJson(
      {{"provider",
        {{"providers", {{{"config", {{"call_budget_sec", 30}, {"request_timeout_ms", 2500}}}}}}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CallBudgetMs(*r), 30000);
  EXPECT_EQ(r->aws.request_timeout_ms, 2500);
}

TEST_F(ProviderConfigTest, ActionTimeout) {
  Result<ProviderConfig> r =
      Load({{"AWS_REGION", "us-east-1"}, {"HF_PROVIDER_ACTION_TIMEOUT", "300"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->action_timeout_sec, 300);
  for (const char* bad : {"0", "-5", "abc", "1.5"}) {
    ExpectError(Load({{"AWS_REGION", "us-east-1"}, {"HF_PROVIDER_ACTION_TIMEOUT", bad}}),
                {"HF_PROVIDER_ACTION_TIMEOUT"});
  }
}

TEST_F(ProviderConfigTest, PropagatedLogSettingsWhenAccepted) {
  Env hf = {
      {"HF_LOGLEVEL", "LOG_DEBUG"}, {"HF_LOG_MAX_FILE_SIZE", "20"}, {"HF_LOG_MAX_ROTATE", "7"}};
  Result<ProviderConfig> r =
      LoadIbm({{"ACCEPT_PROPAGATED_LOG_SETTING", "true"}, {"LOG_LEVEL", "ERROR"}}, hf);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->logging.level, "DEBUG");
  EXPECT_EQ(r->logging.max_size_bytes, 20 * 1024 * 1024);
  EXPECT_EQ(r->logging.max_files, 7);

  for (const auto& [written, level] : std::map<std::string, std::string>{{"LOG_TRACE", "TRACE"},
                                                                         {"LOG_INFO", "INFO"},
                                                                         {"LOG_WARN", "WARN"},
                                                                         {"LOG_WARNING", "WARN"},
                                                                         {"LOG_ERROR", "ERROR"},
                                                                         {"LOG_NOTICE", "INFO"}}) {
    r = LoadIbm({{"ACCEPT_PROPAGATED_LOG_SETTING", true}}, {{"HF_LOGLEVEL", written}});
    ASSERT_TRUE(r.ok()) << written;
    EXPECT_EQ(r->logging.level, level) << written;
  }
  ExpectError(LoadIbm({{"ACCEPT_PROPAGATED_LOG_SETTING", true}}, {{"HF_LOGLEVEL", "LOG_LOUD"}}),
              {"HF_LOGLEVEL", "LOG_LOUD"});
  ExpectError(LoadIbm({{"ACCEPT_PROPAGATED_LOG_SETTING", true}}, {{"HF_LOG_MAX_FILE_SIZE", "0"}}),
              {"HF_LOG_MAX_FILE_SIZE"});
}

TEST_F(ProviderConfigTest, PropagatedLogSettingsIgnoredUnlessAccepted) {
  Env hf = {
      {"HF_LOGLEVEL", "LOG_DEBUG"}, {"HF_LOG_MAX_FILE_SIZE", "20"}, {"HF_LOG_MAX_ROTATE", "7"}};
  Result<ProviderConfig> r = LoadIbm({{"LOG_LEVEL", "ERROR"}}, hf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->logging.level, "ERROR");
  EXPECT_EQ(r->logging.max_size_bytes, 10 * 1024 * 1024);
  EXPECT_EQ(r->logging.max_files, 5);
}

// --- from text ---

TEST(ParseProviderConfigTest, ReadsTextsWithoutTouchingTheDisk) {
  Directories dirs{"awsinst", "/nowhere/conf", "/nowhere/work", "/nowhere/log"};
  ConfigFiles files;
  files.ibm_path = "/nowhere/conf/awsprov_config.json";
  files.ibm_text = R"({"AWS_REGION": "eu-west-1", "AWS_REQUEST_RETRY_ATTEMPTS": "4"})";
  files.json_path = "/nowhere/conf/config.json";
  files.json_text = R"({"storage": {"strategy": "json"}, "logging": {"level": "debug"}})";
  Result<ProviderConfig> r = ParseProviderConfig(files, dirs, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->aws.region, "eu-west-1");
  EXPECT_EQ(r->aws.request_retry_attempts, 4);
  EXPECT_EQ(r->storage.strategy, "json");
  EXPECT_EQ(r->storage.path, "/nowhere/work/data/request_database.json");
  EXPECT_EQ(r->logging.level, "DEBUG");
  EXPECT_EQ(r->logging.file_path, "/nowhere/log/awsinst.log");
  EXPECT_EQ(r->config_path, files.ibm_path);
  EXPECT_EQ(r->config_json_path, files.json_path);
}

TEST(ParseProviderConfigTest, AnEmptyPathMeansTheFileIsAbsent) {
  Directories dirs{"", "/c", "/w", "/l"};
  ConfigFiles files;
  files.ibm_text = "not even JSON";  // ignored: no path
  Result<ProviderConfig> r = ParseProviderConfig(files, dirs, {{"AWS_REGION", "us-east-2"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->aws.region, "us-east-2");
  EXPECT_EQ(r->config_path, "");
}

TEST(ParseProviderConfigTest, ErrorsNameThePathGiven) {
  Directories dirs{"", "/c", "/w", "/l"};
  ConfigFiles files;
  files.json_path = "/c/config.json";
  files.json_text = "{\n \"storage\": oops}";
  ExpectError(ParseProviderConfig(files, dirs, {}), {"/c/config.json", "line 2"});
}

TEST(CurrentEnvironmentTest, SeesTheProcessEnvironment) {
  ASSERT_EQ(setenv("OHFP_CONFIG_TEST_VAR", "a=b", 1), 0);
  Env env = CurrentEnvironment();
  EXPECT_EQ(env["OHFP_CONFIG_TEST_VAR"], "a=b");
  unsetenv("OHFP_CONFIG_TEST_VAR");
  EXPECT_FALSE(CurrentEnvironment().contains("OHFP_CONFIG_TEST_VAR"));
}

}  // namespace
}  // namespace ohfp
