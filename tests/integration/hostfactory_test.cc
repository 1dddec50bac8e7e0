// The five Host Factory scripts and the command line, end to end, against a
// moto_server that checks every SigV4 signature.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
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
using testsupport::SharedMoto;
using testsupport::StdoutJson;

class HostFactoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { moto_ = testsupport::StartSharedMoto().release(); }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(moto_, nullptr) << "moto_server did not start"; }

  static json Request(const HostFactoryEnv& env, const std::string& tmpl, int n) {
    RunResult r =
        env.Script("requestMachines", {{"template", {{"templateId", tmpl}, {"machineCount", n}}}});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return StdoutJson(r);
  }

  static json Status(const HostFactoryEnv& env, const std::vector<std::string>& ids) {
    json requests = json::array();
    for (const auto& id : ids) requests.push_back({{"requestId", id}});
    RunResult r = env.Script("getRequestStatus", {{"requests", requests}});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return StdoutJson(r);
  }

  static SharedMoto* moto_;
};

SharedMoto* HostFactoryTest::moto_ = nullptr;

TEST_F(HostFactoryTest, FullCycleThroughTheScripts) {
  HostFactoryEnv env(*moto_);

  RunResult templates = env.Script("getAvailableTemplates", json::object());
  ASSERT_EQ(templates.exit_code, 0) << Describe(templates);
  EXPECT_TRUE(templates.stderr_text.empty()) << templates.stderr_text;
  json t = StdoutJson(templates);
  ASSERT_EQ(t["templates"].size(), 2u) << t.dump();  // "broken" is left out
  EXPECT_EQ(t["templates"][0]["templateId"], "od-small");
  EXPECT_EQ(t["templates"][0]["attributes"]["ncpus"], json::array({"Numeric", "1"}));

  json submitted = Request(env, "od-small", 3);
  std::string req = submitted.value("requestId", "");
  ASSERT_EQ(req.rfind("req-", 0), 0u) << submitted.dump();

  json status = Status(env, {req});
  const json& entry = status["requests"][0];
  ASSERT_EQ(entry["status"], "complete") << status.dump();
  ASSERT_EQ(entry["machines"].size(), 3u);
  json to_return = json::array();
  for (const json& m : entry["machines"]) {
    EXPECT_EQ(m["result"], "succeed");
    EXPECT_EQ(m["status"], "running");
    std::string name = m["name"];
    EXPECT_EQ(name.rfind("ip-10-0-1-", 0), 0u) << name;
    EXPECT_NE(name.find(".ec2.internal"), std::string::npos) << name;
    EXPECT_TRUE(m["launchtime"].is_number_integer());
    EXPECT_GT(m["launchtime"].get<int64_t>(), 1700000000);
    EXPECT_EQ(m["privateIpAddress"].get<std::string>().rfind("10.0.1.", 0), 0u);
    to_return.push_back({{"name", m["name"]}, {"machineId", m["machineId"]}});
  }

  RunResult none = env.Script("getReturnRequests", {{"machines", to_return}});
  ASSERT_EQ(none.exit_code, 0) << Describe(none);
  EXPECT_TRUE(StdoutJson(none)["requests"].empty()) << none.stdout_text;

  RunResult give_back = env.Script("requestReturnMachines", {{"machines", to_return}});
  ASSERT_EQ(give_back.exit_code, 0) << Describe(give_back);
  std::string ret = StdoutJson(give_back).value("requestId", "");
  ASSERT_EQ(ret.rfind("ret-", 0), 0u) << give_back.stdout_text;

  json returned = Status(env, {ret, req});
  ASSERT_EQ(returned["requests"].size(), 2u);
  EXPECT_EQ(returned["requests"][0]["status"], "complete") << returned.dump();
  for (const json& m : returned["requests"][0]["machines"]) {
    EXPECT_EQ(m["result"], "succeed");
    EXPECT_EQ(m["status"], "terminated");
  }
  // The acquisition was final: its answer is what it was.
  EXPECT_EQ(returned["requests"][1], entry);

  RunResult gone = env.Script("getReturnRequests", {{"machines", to_return}});
  json reclaimed = StdoutJson(gone);
  ASSERT_EQ(reclaimed["requests"].size(), 3u) << gone.stdout_text;
  EXPECT_EQ(reclaimed["status"], "complete");
  EXPECT_EQ(reclaimed["requests"][0]["gracePeriod"], 0);

  RunResult all_live = env.Script("getReturnRequests", json::object());
  EXPECT_TRUE(StdoutJson(all_live)["requests"].empty()) << all_live.stdout_text;

  // One line per event, with the request id, in the log directory.
  std::ifstream log(env.logdir() + "/awsinst.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find(req), std::string::npos);
  EXPECT_NE(text.str().find(ret), std::string::npos);
}

TEST_F(HostFactoryTest, UnknownRequestIsCompleteWithError) {
  HostFactoryEnv env(*moto_);
  json status = Status(env, {"req-00000000-0000-4000-8000-000000000000"});
  EXPECT_EQ(status["requests"][0]["status"], "complete_with_error");
  EXPECT_EQ(status["requests"][0]["message"], "unknown request id");
}

TEST_F(HostFactoryTest, ScriptsReadStandardInput) {
  HostFactoryEnv env(*moto_);
  RunResult r = env.ScriptStdin("requestMachines",
                                R"({"template": {"templateId": "spot-small", "machineCount": 1}})");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::string id = StdoutJson(r).value("requestId", "");
  RunResult s =
      env.ScriptStdin("getRequestStatus", R"({"requests": {"requestId": ")" + id + R"("}})");
  json status = StdoutJson(s);
  ASSERT_EQ(status["requests"][0]["status"], "complete") << s.stdout_text;
  EXPECT_EQ(status["requests"][0]["machines"][0]["priceType"], "spot");
}

TEST_F(HostFactoryTest, CommandLineSnakeCaseAnswers) {
  HostFactoryEnv env(*moto_);

  RunResult templates = env.Cli({"getAvailableTemplates", "--provider-api", "RunInstances"});
  ASSERT_EQ(templates.exit_code, 0) << Describe(templates);
  json t = StdoutJson(templates);
  EXPECT_EQ(t["templates"][0]["template_id"], "od-small");
  EXPECT_EQ(t["templates"][0]["max_number"], 50);
  EXPECT_EQ(t["total_count"], 2);
  EXPECT_FALSE(t.contains("rejected"));
  json with_all = StdoutJson(env.Cli({"getAvailableTemplates", "--all"}));
  ASSERT_EQ(with_all["rejected"].size(), 1u) << with_all.dump();
  EXPECT_TRUE(
      StdoutJson(env.Cli({"getAvailableTemplates", "--provider-api", "ASG"}))["templates"].empty());

  RunResult req = env.Cli({"requestMachines", "od-small", "2"});
  ASSERT_EQ(req.exit_code, 0) << Describe(req);
  json r = StdoutJson(req);
  std::string id = r["request_id"];
  EXPECT_EQ(r["template_id"], "od-small");
  EXPECT_EQ(r["machine_count"], 2);
  EXPECT_EQ(r["machines"].size(), 2u);
  EXPECT_NE(r["created_at"].get<std::string>().find('T'), std::string::npos);

  json s = StdoutJson(env.Cli({"getRequestStatus", "--request-id", id}));
  const json& e = s["requests"][0];
  EXPECT_EQ(e["status"], "COMPLETED") << s.dump();
  EXPECT_FALSE(e["completed_at"].is_null());
  ASSERT_EQ(e["machines"].size(), 2u);
  EXPECT_EQ(e["machines"][0]["status"], "RUNNING");
  EXPECT_EQ(e["machines"][0]["instance_type"], "t3.micro");
  std::string machine = e["machines"][0]["machine_id"];

  json by_data = StdoutJson(
      env.Cli({"getRequestStatus", "--data", R"({"requests": [{"request_id": ")" + id + "\"}]}"}));
  EXPECT_EQ(by_data["requests"][0]["status"], "COMPLETED");
  json by_stdin =
      StdoutJson(env.Cli({"getRequestStatus"}, R"({"requests": [{"requestId": ")" + id + "\"}]}"));
  EXPECT_EQ(by_stdin["requests"][0]["status"], "COMPLETED");
  json longer = StdoutJson(env.Cli({"getRequestStatus", "--long", "-r", id}));
  EXPECT_EQ(longer["requests"][0]["provider_api"], "RunInstances");
  json cleaner = StdoutJson(env.Cli({"getRequestStatus", "--clean", "-r", id}));
  EXPECT_FALSE(cleaner["requests"][0]["machines"][0].contains("public_ip") &&
               cleaner["requests"][0]["machines"][0]["public_ip"] == "");

  RunResult ret = env.Cli({"requestReturnMachines", machine});
  ASSERT_EQ(ret.exit_code, 0) << Describe(ret);
  json rj = StdoutJson(ret);
  EXPECT_EQ(rj["request_id"].get<std::string>().rfind("ret-", 0), 0u);
  EXPECT_EQ(rj["machine_ids"], json::array({machine}));

  json list = StdoutJson(env.Cli({"getReturnRequests"}));
  ASSERT_EQ(list["return_requests"].size(), 1u) << list.dump();
  EXPECT_EQ(list["return_requests"][0]["request_id"], rj["request_id"]);
  EXPECT_EQ(list["return_requests"][0]["machine_ids"], json::array({machine}));
}

// --stats adds one line to stderr and leaves the answer alone on stdout.
TEST_F(HostFactoryTest, StatsLineCountsCallsTimeAndPeakMemory) {
  HostFactoryEnv env(*moto_);
  RunResult req = env.Cli({"requestMachines", "od-small", "1", "--stats"});
  ASSERT_EQ(req.exit_code, 0) << Describe(req);
  EXPECT_EQ(StdoutJson(req)["machine_count"], 1);

  // One line, the fields in this order, every value a number.
  const std::string prefix = "ohfp stats: command=requestMachines ";
  size_t at = req.stderr_text.find(prefix);
  ASSERT_NE(at, std::string::npos) << req.stderr_text;
  std::istringstream line(req.stderr_text.substr(at + prefix.size()));
  std::map<std::string, double> field;
  std::vector<std::string> order;
  for (std::string pair; line >> pair;) {
    size_t eq = pair.find('=');
    ASSERT_NE(eq, std::string::npos) << pair;
    order.push_back(pair.substr(0, eq));
    size_t used = 0;
    field[order.back()] = std::stod(pair.substr(eq + 1), &used);
    EXPECT_EQ(used, pair.size() - eq - 1) << pair;
    if (line.peek() == '\n') break;
  }
  EXPECT_EQ(order, (std::vector<std::string>{"wall_ms", "aws_calls", "aws_attempts", "aws_retries",
                                             "aws_http_ms", "own_ms", "peak_rss_kib"}));
  EXPECT_GE(field["aws_calls"], 1) << "RunInstances at least";
  EXPECT_GE(field["aws_attempts"], field["aws_calls"]);
  EXPECT_GT(field["aws_http_ms"], 0);
  EXPECT_NEAR(field["wall_ms"], field["aws_http_ms"] + field["own_ms"], 0.01);
  // Its own pages only, whatever the size of the process that ran it; KiB,
  // not bytes (sanitizer builds run larger than release ones).
  EXPECT_GT(field["peak_rss_kib"], 256);
  EXPECT_LT(field["peak_rss_kib"], 1024 * 1024);
}

TEST_F(HostFactoryTest, ErrorsHaveTheDocumentedBodyAndExitCodes) {
  HostFactoryEnv env(*moto_);
  auto check = [](const RunResult& r, int exit_code, const std::string& code) {
    EXPECT_EQ(r.exit_code, exit_code) << Describe(r);
    json j = StdoutJson(r);
    EXPECT_EQ(j["error_code"], code) << r.stdout_text;
    for (const char* key : {"error", "timestamp", "details", "message"}) {
      EXPECT_TRUE(j.contains(key)) << key << " in " << r.stdout_text;
    }
  };
  check(env.Cli({"requestMachines", "nope", "1"}), 4, "TEMPLATE_NOT_FOUND");
  check(env.Cli({"requestMachines", "od-small", "-2"}), 4, "INVALID_REQUEST");
  check(env.Cli({"requestMachines", "od-small", "three"}), 4, "INVALID_REQUEST");
  check(env.Cli({"requestMachines", "od-small", "100000"}), 4, "INVALID_REQUEST");
  check(env.Cli({"requestMachines", "od-small", "51"}), 4, "RESOURCE_LIMIT_EXCEEDED");
  check(env.Cli({"getRequestStatus", "--data", "{not json"}), 4, "INVALID_REQUEST");
  check(env.Cli({"getRequestStatus", "--file", env.root() + "/missing.json"}), 4,
        "INVALID_REQUEST");
  check(env.Cli({"getRequestStatus", "--data", std::string(200, '[')}), 4, "INVALID_REQUEST");
  check(env.Cli({"noSuchCommand"}), 4, "INVALID_REQUEST");
  check(env.Script("requestMachines", {{"template", {{"templateId", "od-small"}}}}), 4,
        "INVALID_REQUEST");

  // Nothing was launched or recorded by any of that.
  json list = StdoutJson(env.Cli({"getRequestStatus", "--all"}));
  EXPECT_TRUE(list["requests"].empty()) << list.dump();

  fs::remove(env.confdir() + "/awsprov_config.json");
  RunResult no_region = env.Cli({"getAvailableTemplates"});
  check(no_region, 2, "CONFIGURATION_ERROR");
}

TEST_F(HostFactoryTest, UnreachableCloudIsAProviderError) {
  EnvOptions options;
  options.endpoint_override = "http://127.0.0.1:9";  // discard port: nothing listens
  HostFactoryEnv env(*moto_, options);
  RunResult r = env.Cli({"requestReturnMachines", "i-0123456789abcdef0"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_EQ(StdoutJson(r)["error_code"], "PROVIDER_ERROR");
}

TEST_F(HostFactoryTest, StateAndLogFilesAreOwnerOnlyAndHoldNoSecret) {
  HostFactoryEnv env(*moto_);
  json submitted = Request(env, "od-small", 1);
  Status(env, {submitted["requestId"]});
  std::set<std::string> checked;
  for (const auto& dir : {env.workdir(), env.logdir()}) {
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      struct stat st;
      ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
      if (entry.is_directory()) {
        EXPECT_EQ(st.st_mode & 0077, 0u) << entry.path();
        continue;
      }
      EXPECT_EQ(st.st_mode & 0077, 0u) << entry.path();
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      EXPECT_EQ(text.str().find(env.secret_key()), std::string::npos) << entry.path();
      checked.insert(entry.path().filename().string());
    }
  }
  EXPECT_TRUE(checked.count("awsinst.log"));
  EXPECT_TRUE(checked.count("ohfp.db"));
}

TEST_F(HostFactoryTest, MigrateRepositoryMovesJsonStateToSqliteAndHostFactoryCarriesOn) {
  EnvOptions options;
  options.store = "json";
  HostFactoryEnv env(*moto_, options);
  std::string id = Request(env, "od-small", 2)["requestId"];
  ASSERT_EQ(Status(env, {id})["requests"][0]["status"], "complete");
  std::string pending = Request(env, "od-small", 1)["requestId"];

  RunResult migrated =
      env.Cli({"migrateRepository", "--source-type", "json", "--target-type", "sqlite",
               "--batch-size", "1", "--create-backup", "--validate-after", "--cleanup-source"});
  ASSERT_EQ(migrated.exit_code, 0) << Describe(migrated);
  json report = StdoutJson(migrated);
  EXPECT_EQ(report["status"], "COMPLETED");
  EXPECT_EQ(report["source_type"], "json");
  EXPECT_EQ(report["target_type"], "sqlite");
  EXPECT_EQ(report["records_migrated"], 5);  // 2 requests, 3 machines
  EXPECT_EQ(report["backup_created"], true);
  EXPECT_EQ(report["validated"], true);
  EXPECT_TRUE(report["duration_seconds"].is_number());
  EXPECT_EQ(report["migration_id"].get<std::string>().rfind("mig-", 0), 0u);
  EXPECT_TRUE(fs::exists(report["backup_path"].get<std::string>()));
  EXPECT_FALSE(fs::exists(env.workdir() + "/data/request_database.json"));

  // Host Factory goes on against the new store: the finished request keeps
  // its answer, the open one completes.
  std::ofstream(env.confdir() + "/config.json", std::ios::trunc)
      << R"({"storage": {"strategy": "sql"}, "logging": {"level": "DEBUG"}})";
  json after = Status(env, {id, pending});
  ASSERT_EQ(after["requests"].size(), 2u) << after.dump();
  for (const auto& r : after["requests"]) {
    EXPECT_EQ(r["status"], "complete") << r.dump();
    EXPECT_EQ(r["machines"].size(), r["requestId"] == id ? 2u : 1u) << r.dump();
  }

  // Refusals: an unknown type, the same file, a source that is not there.
  auto refused = [&](const std::vector<std::string>& args) {
    RunResult r = env.Cli(args);
    EXPECT_EQ(r.exit_code, 4) << Describe(r);
    EXPECT_EQ(StdoutJson(r)["error_code"], "INVALID_REQUEST") << r.stdout_text;
  };
  refused({"migrateRepository", "--source-type", "dynamodb", "--target-type", "sqlite"});
  refused({"migrateRepository", "--source-type", "sqlite", "--target-type", "sqlite"});
  refused({"migrateRepository", "--source-type", "json", "--target-type", "sqlite"});
}

TEST_F(HostFactoryTest, ReturnRequestListFlags) {
  HostFactoryEnv env(*moto_);
  std::string id = Request(env, "od-small", 1)["requestId"];
  json machine = Status(env, {id})["requests"][0]["machines"][0];
  RunResult nothing = env.Script("requestReturnMachines", {{"machines", json::array()}});
  std::string empty_return = StdoutJson(nothing)["requestId"];
  std::string ret =
      StdoutJson(env.Script("requestReturnMachines",
                            {{"machines", {{{"machineId", machine["machineId"]}}}}}))["requestId"];

  auto listed = [&](const std::vector<std::string>& args) {
    std::set<std::string> ids;
    json answer = StdoutJson(env.Cli(args));
    for (const auto& r : answer["return_requests"]) ids.insert(r["request_id"]);
    return ids;
  };
  EXPECT_EQ(listed({"getReturnRequests"}), (std::set<std::string>{empty_return, ret}));
  EXPECT_EQ(listed({"getReturnRequests", "--return-only"}), std::set<std::string>{ret});
  EXPECT_EQ(listed({"getReturnRequests", "--active-only"}), std::set<std::string>{ret});
  Status(env, {ret});  // moto terminates at once: the return completes
  EXPECT_TRUE(listed({"getReturnRequests", "--active-only"}).empty());
}

}  // namespace
}  // namespace ohfp
