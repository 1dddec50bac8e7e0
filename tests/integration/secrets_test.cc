// No part of the AWS key ohfp signs with (access key id, secret key,
// session token) reaches an answer, a log line at any level, an error
// message or a file ohfp wrote; what ohfp writes is owner-only; and template
// fields never pass through a shell.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/hostfactory_env.h"

namespace ohfp {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testsupport::Describe;
using testsupport::EnvOptions;
using testsupport::HostFactoryEnv;
using testsupport::RunResult;
using testsupport::StdoutJson;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SecretsTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { moto_ = testsupport::StartSharedMoto().release(); }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(moto_, nullptr) << "moto_server did not start"; }

  /// Records what a run printed, for the final search.
  RunResult Keep(RunResult r) {
    printed_ += r.stdout_text;
    printed_ += r.stderr_text;
    ++runs_;
    return r;
  }

  void ExpectNoSecretIn(const std::string& text, const std::string& where,
                        const std::vector<std::string>& secrets) {
    for (const auto& secret : secrets) {
      ASSERT_FALSE(secret.empty());
      EXPECT_EQ(text.find(secret), std::string::npos)
          << where << " holds a secret (" << secret.size() << " characters)";
    }
  }

  static testsupport::SharedMoto* moto_;
  std::string printed_;
  int runs_ = 0;
};

testsupport::SharedMoto* SecretsTest::moto_ = nullptr;

TEST_P(SecretsTest, FullCycleAtTraceLevelLeaksNoKeyAnywhere) {
  auto temporary = testsupport::AssumeTestRole(*moto_, "ohfp-secrets-" + GetParam());
  ASSERT_TRUE(temporary.has_value());
  EnvOptions options;
  options.store = GetParam();
  options.log_level = "TRACE";
  options.credentials = *temporary;
  HostFactoryEnv env(*moto_, options);
  ASSERT_EQ(env.secrets().size(), 3u);  // key id, secret and session token

  Keep(env.Script("getAvailableTemplates", json::object()));
  RunResult submitted = Keep(env.Script(
      "requestMachines", {{"template", {{"templateId", "od-small"}, {"machineCount", 2}}}}));
  ASSERT_EQ(submitted.exit_code, 0) << Describe(submitted);
  std::string id = StdoutJson(submitted).value("requestId", "");
  json status =
      StdoutJson(Keep(env.Script("getRequestStatus", {{"requests", {{{"requestId", id}}}}})));
  ASSERT_EQ(status["requests"][0]["status"], "complete") << status.dump();
  json machines = json::array();
  for (const auto& m : status["requests"][0]["machines"]) {
    machines.push_back({{"name", m["name"]}, {"machineId", m["machineId"]}});
  }
  std::string ret = StdoutJson(Keep(env.Script("requestReturnMachines", {{"machines", machines}})))
                        .value("requestId", "");
  Keep(env.Script("getRequestStatus", {{"requests", {{{"requestId", ret}}}}}));
  Keep(env.Script("getReturnRequests", {{"machines", machines}}));
  Keep(env.Script("getReturnRequests", json::object()));
  // The command line at its most talkative, and its errors.
  Keep(env.Cli({"--log-level", "TRACE", "--long", "getRequestStatus", "--all"}));
  Keep(env.Cli({"--log-level", "TRACE", "--long", "getRequestStatus", "-r", id}));
  Keep(env.Cli({"--log-level", "TRACE", "--long", "getReturnRequests", "--all"}));
  Keep(env.Cli({"--log-level", "TRACE", "reconcile"}));
  Keep(env.Cli({"--log-level", "TRACE", "requestMachines", "no-such-template", "1"}));
  Keep(env.Cli({"--log-level", "TRACE", "getRequestStatus", "--data", "{not json"}));
  ASSERT_GE(runs_, 13);

  // The same key with its secret wrong: the error that comes back names the
  // failure, never the key.
  fs::path credentials = env.confdir() + "/credentials";
  std::string good = ReadAll(credentials);
  std::string wrong_secret =
      std::string(temporary->secret_access_key.rbegin(), temporary->secret_access_key.rend());
  std::string bad = good;
  bad.replace(bad.find(temporary->secret_access_key), wrong_secret.size(), wrong_secret);
  std::ofstream(credentials, std::ios::trunc) << bad;
  RunResult refused = Keep(env.Cli({"--log-level", "TRACE", "requestMachines", "od-small", "1"}));
  EXPECT_NE(refused.exit_code, 0) << Describe(refused);
  std::vector<std::string> secrets = env.secrets();
  secrets.push_back(wrong_secret);
  std::ofstream(credentials, std::ios::trunc) << good;

  ExpectNoSecretIn(printed_, "what ohfp printed", secrets);
  int files = 0;
  for (const auto& dir : {env.workdir(), env.logdir()}) {
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      struct stat st;
      ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 0077, 0u) << entry.path() << " is open to others";
      if (entry.is_directory()) continue;
      ExpectNoSecretIn(ReadAll(entry.path()), entry.path().string(), secrets);
      ++files;
    }
  }
  EXPECT_GE(files, 2);  // at least the log and the state
  std::string log = ReadAll(env.logdir() + "/awsinst.log");
  EXPECT_NE(log.find("RunInstances"), std::string::npos) << "the log did not see the calls";
  // The signed headers were logged, with the key, signature and token hidden.
  EXPECT_NE(log.find("Credential=<redacted>/"), std::string::npos);
  EXPECT_NE(log.find("X-Amz-Security-Token: <redacted>"), std::string::npos);
}

TEST_P(SecretsTest, TemplateFieldsNeverPassThroughAShell) {
  EnvOptions options;
  options.store = GetParam();
  HostFactoryEnv env(*moto_, options);
  fs::path marker = fs::path(env.root()) / "shell-ran";
  std::string hostile =
      "$(touch " + marker.string() + ")`touch " + marker.string() + "`;touch " + marker.string();

  fs::path templates_file = env.confdir() + "/awsprov_templates.json";
  json templates = json::parse(ReadAll(templates_file));
  json t = templates["templates"][0];
  t["templateId"] = "hostile";
  // ';' separates tags in Host Factory's k=v;k=v, so a tag value uses '|'.
  std::string hostile_tag = hostile;
  std::replace(hostile_tag.begin(), hostile_tag.end(), ';', '|');
  t["instanceTags"] = {{"note", hostile_tag}};
  t["userDataScript"] = hostile;
  t["keyName"] = hostile;
  templates["templates"].push_back(t);
  std::ofstream(templates_file, std::ios::trunc) << templates.dump();

  RunResult submitted = env.Script(
      "requestMachines", {{"template", {{"templateId", "hostile"}, {"machineCount", 1}}}});
  ASSERT_EQ(submitted.exit_code, 0)
      << Describe(submitted) << env.Cli({"getAvailableTemplates", "--all"}).stdout_text;
  std::string id = StdoutJson(submitted).value("requestId", "");
  env.Script("getRequestStatus", {{"requests", {{{"requestId", id}}}}});
  EXPECT_FALSE(fs::exists(marker)) << "a template field was run by a shell";

  bool seen = false;
  for (const auto& t : testsupport::ListTaggedInstances(*moto_)) {
    if (t.request_id != id) continue;
    seen = true;
    auto note = t.tags.find("note");
    ASSERT_NE(note, t.tags.end());
    EXPECT_EQ(note->second, hostile_tag);  // sent as it was written
  }
  EXPECT_TRUE(seen);
}

INSTANTIATE_TEST_SUITE_P(Stores, SecretsTest, ::testing::ValuesIn(testsupport::kStoreBackEnds));

}  // namespace
}  // namespace ohfp
