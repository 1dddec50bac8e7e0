// The ohfp-devenv tool and the process runner it is driven with (both live
// outside src/, so their tests sit with the AWS client they exercise).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/socket_transport.h"
#include "aws/xml.h"
#include "support/process.h"

namespace ohfp {
namespace {

using testsupport::RunProcess;
using testsupport::RunResult;

const char kDevenv[] = OHFP_BINARY_DIR "/ohfp-devenv";

std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> vars;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("export ", 0) != 0) continue;
    size_t eq = line.find('=');
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'') value = value.substr(1, value.size() - 2);
    vars[line.substr(7, eq - 7)] = value;
  }
  return vars;
}

// Any HTTP answer counts. data.json dumps every model moto holds, which on a
// loaded machine can take seconds once devenv has created its VPC and user.
bool Answers(const std::string& endpoint) {
  aws::SocketTransport transport;
  aws::HttpRequest probe;
  probe.method = "GET";
  probe.url = endpoint + "/moto-api/data.json";
  probe.headers = {{"Host", endpoint.substr(7)}};
  probe.timeout_ms = 20000;
  return transport.Send(probe).ok();
}

TEST(DevenvTest, StartWritesEnvironmentAndStopEndsMoto) {
  ASSERT_TRUE(std::filesystem::exists(kDevenv)) << "build the ohfp-devenv target first";
  char tmpl[] = "/tmp/ohfp-devenv-XXXXXX";
  std::string dir = mkdtemp(tmpl);

  RunResult started = RunProcess({kDevenv, "start", "--dir", dir}, {}, "", 60000);
  ASSERT_EQ(started.exit_code, 0) << started.stderr_text;
  // A failed assertion below must not leave moto running.
  struct StopOnExit {
    std::string dir;
    ~StopOnExit() {
      RunProcess({kDevenv, "stop", "--dir", dir}, {}, "", 30000);
      std::filesystem::remove_all(dir);
    }
  } stop_on_exit{dir};
  EXPECT_TRUE(started.stdout_text.empty());
  EXPECT_NE(started.stderr_text.find("moto_server pid"), std::string::npos);

  std::string env_path = dir + "/env.sh";
  struct stat st {};
  ASSERT_EQ(stat(env_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::map<std::string, std::string> env = ReadEnvFile(env_path);
  for (const char* name : {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                           "AWS_REGION", "AWS_EC2_METADATA_DISABLED", "MOTO_PID", "MOTO_PORT",
                           "OHFP_SUBNET_ID", "OHFP_SECURITY_GROUP_ID", "OHFP_VPC_ID"}) {
    EXPECT_FALSE(env[name].empty()) << name;
  }
  EXPECT_EQ(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:" + env["MOTO_PORT"]);
  EXPECT_EQ(env["AWS_EC2_METADATA_DISABLED"], "true");
  // The secret reached the file, never the terminal.
  EXPECT_EQ(started.stderr_text.find(env["AWS_SECRET_ACCESS_KEY"]), std::string::npos);

  // The server outlived the command, checks signatures, and knows the subnet.
  ASSERT_TRUE(Answers(env["AWS_ENDPOINT_URL"]));
  aws::SocketTransport transport;
  aws::StaticCredentials keys(
      aws::Credentials{env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], "", 0});
  aws::StaticCredentials wrong(aws::Credentials{env["AWS_ACCESS_KEY_ID"], "wrong", "", 0});
  SystemClock clock;
  aws::ClientOptions options;
  options.region = env["AWS_REGION"];
  options.endpoint_url = env["AWS_ENDPOINT_URL"];
  aws::AwsClient client(options, &transport, &keys, &clock);
  Result<std::string> subnets = client.CallQuery("ec2", "DescribeSubnets", "2016-11-15",
                                                 {{"SubnetId.1", env["OHFP_SUBNET_ID"]}});
  ASSERT_TRUE(subnets.ok()) << subnets.status().ToString();
  pugi::xml_document doc;
  ASSERT_TRUE(aws::ParseXml(*subnets, &doc).ok());
  EXPECT_EQ(aws::ChildText(aws::FindFirst(doc, "subnetSet"), "item/vpcId"), env["OHFP_VPC_ID"]);
  EXPECT_EQ(aws::ChildText(aws::FindFirst(doc, "subnetSet"), "item/availabilityZone"),
            env["AWS_REGION"] + "a");
  aws::AwsClient bad(options, &transport, &wrong, &clock);
  EXPECT_FALSE(bad.CallQuery("ec2", "DescribeSubnets", "2016-11-15", {}).ok());

  RunResult stopped = RunProcess({kDevenv, "stop", "--dir", dir}, {}, "", 30000);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.stderr_text;
  EXPECT_FALSE(Answers(env["AWS_ENDPOINT_URL"]));
}

TEST(DevenvTest, UsageErrors) {
  ASSERT_TRUE(std::filesystem::exists(kDevenv)) << "build the ohfp-devenv target first";
  EXPECT_EQ(RunProcess({kDevenv}, {}, "", 10000).exit_code, 2);
  EXPECT_EQ(RunProcess({kDevenv, "start"}, {}, "", 10000).exit_code, 2);
  EXPECT_EQ(RunProcess({kDevenv, "launch", "--dir", "/tmp"}, {}, "", 10000).exit_code, 2);
  RunResult stop = RunProcess({kDevenv, "stop", "--dir", "/nonexistent/x"}, {}, "", 10000);
  EXPECT_EQ(stop.exit_code, 1);
}

TEST(ProcessRunnerTest, CapturesOutputExitCodeAndEnvironment) {
  RunResult r = RunProcess({"sh", "-c", "cat; echo \"$OHFP_X\" >&2; exit 3"}, {{"OHFP_X", "hello"}},
                           "from stdin", 10000);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.stdout_text, "from stdin");
  EXPECT_EQ(r.stderr_text, "hello\n");
}

TEST(ProcessRunnerTest, LargeInputAndOutputDoNotDeadlock) {
  std::string big(1 << 20, 'x');
  RunResult r = RunProcess({"cat"}, {}, big, 20000);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text.size(), big.size());
}

TEST(ProcessRunnerTest, TimeoutKillsTheProcessGroup) {
  RunResult r = RunProcess({"sh", "-c", "sleep 30 & sleep 30"}, {}, "", 200);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGKILL);
}

TEST(ProcessRunnerTest, UnsetEnvironmentAndWorkingDirectory) {
  testsupport::ProcessOptions options;
  options.argv = {"sh", "-c", "pwd; echo \"[${HOME-unset}]\""};
  options.unset_env = {"HOME"};
  options.working_dir = "/tmp";
  RunResult r = RunProcess(options);
  EXPECT_EQ(r.stdout_text, "/tmp\n[unset]\n");
}

TEST(ProcessRunnerTest, MissingProgramExits127) {
  RunResult r = RunProcess({"/nonexistent/program"}, {}, "", 5000);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.stderr_text.find("exec failed"), std::string::npos);
}

TEST(ProcessRunnerTest, SpawnAndKill) {
  pid_t pid = testsupport::SpawnProcess({"sleep", "30"}, {});
  ASSERT_GT(pid, 0);
  bool timed_out = false;
  EXPECT_EQ(testsupport::WaitForExit(pid, 50, &timed_out), -1);
  EXPECT_TRUE(timed_out);
  kill(pid, SIGKILL);
  EXPECT_EQ(testsupport::WaitForExit(pid, 5000, &timed_out), 128 + SIGKILL);
  EXPECT_FALSE(timed_out);
}

TEST(ProcessRunnerTest, SpawnWritesOutputToAFile) {
  char tmpl[] = "/tmp/ohfp-spawn-XXXXXX";
  int fd = mkstemp(tmpl);
  close(fd);
  pid_t pid = testsupport::SpawnProcess({"sh", "-c", "echo out; echo err >&2; exit 4"}, {}, tmpl);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(testsupport::WaitForExit(pid, 5000), 4);
  std::ifstream in(tmpl);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "out\nerr\n");
  unlink(tmpl);
}

}  // namespace
}  // namespace ohfp
