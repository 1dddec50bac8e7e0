// The AWS provider against a real moto_server with signature checking on:
// the whole path (session, credentials, SigV4, HTTP, EC2/SSM wire formats)
// as production runs it, only the endpoint is local.
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "devenv/moto.h"
#include "provider/aws_provider.h"
#include "provider/aws_session.h"

namespace ohfp {
namespace {

constexpr char kAl2023Parameter[] =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64";

class AwsProviderMotoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    devenv::MotoOptions options;
    options.signature_checking = true;
    Result<std::unique_ptr<devenv::MotoServer>> server = devenv::MotoServer::Start(options);
    if (!server.ok()) {
      *setup_error_ = "moto_server did not start: " + server.status().ToString();
      return;
    }
    server_ = std::move(server).value().release();

    ProviderConfig config;
    config.aws.region = server_->region();
    config.aws.endpoint_url = server_->endpoint();
    std::map<std::string, std::string> env;
    for (const auto& [k, v] : server_->ClientEnvironment()) env[k] = v;
    Directories dirs;
    dirs.confdir = ::testing::TempDir();
    Result<std::unique_ptr<AwsSession>> session =
        AwsSession::Create(config, dirs, nullptr, env, /*deadline_ms=*/0);
    if (!session.ok()) {
      *setup_error_ = "AwsSession::Create: " + session.status().ToString();
      return;
    }
    session_ = std::move(session).value().release();

    Result<devenv::Network> network = devenv::CreateNetwork(session_->client());
    if (!network.ok()) {
      *setup_error_ = "CreateNetwork: " + network.status().ToString();
      return;
    }
    *network_ = *network;
  }

  static void TearDownTestSuite() {
    delete session_;
    session_ = nullptr;
    delete server_;  // stops moto by its pid
    server_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(setup_error_->empty()) << *setup_error_; }

  Provider& provider() { return session_->provider(); }

  static Template MotoTemplate(const std::string& id) {
    Template t;
    t.template_id = id;
    t.max_number = 10;
    t.image_id = kAl2023Parameter;
    t.vm_type = "t3.micro";
    t.subnet_ids = {network_->subnet_id};
    t.security_group_ids = {network_->security_group_id};
    t.instance_tags = {{"team", "hpc"}};
    return t;
  }

  static Request MotoRequest(const std::string& id, int64_t count) {
    Request r;
    r.request_id = id;
    r.template_id = "moto-tmpl";
    r.provider_api = "RunInstances";
    r.machine_count = count;
    r.client_token = id;
    return r;
  }

  static std::set<std::string> Ids(const std::vector<Instance>& instances) {
    std::set<std::string> ids;
    for (const Instance& i : instances) ids.insert(i.instance_id);
    return ids;
  }

  static inline devenv::MotoServer* server_ = nullptr;
  static inline AwsSession* session_ = nullptr;
  static inline std::string* setup_error_ = new std::string();
  static inline devenv::Network* network_ = new devenv::Network();
};

TEST_F(AwsProviderMotoTest, LaunchFindDescribeRelease) {
  Template t = MotoTemplate("moto-tmpl");
  t.root_device_volume_size = 20;  // gp3 by default, on the AMI's root device
  Request request = MotoRequest("req-00000000-0000-4000-8000-000000000001", 3);
  Result<LaunchResult> launched = provider().Launch(t, request);
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  ASSERT_EQ(launched->instances.size(), 3u);
  ASSERT_EQ(launched->handles["reservation_ids"].size(), 1u);
  EXPECT_EQ(launched->handles["reservation_ids"][0].get<std::string>().rfind("r-", 0), 0u);

  // Another request's machine must not show up in this request's search.
  Result<LaunchResult> other =
      provider().Launch(t, MotoRequest("req-00000000-0000-4000-8000-000000000002", 1));
  ASSERT_TRUE(other.ok()) << other.status().ToString();

  Result<std::vector<Instance>> found = provider().FindByRequest({request.request_id});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(Ids(*found), Ids(launched->instances));  // exactly them

  std::set<std::string> launched_ids = Ids(launched->instances);
  std::vector<std::string> ids(launched_ids.begin(), launched_ids.end());
  Result<std::vector<Instance>> described = provider().Describe(ids);
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  ASSERT_EQ(described->size(), 3u);
  const std::regex dns(R"(ip-10-0-1-\d+\.ec2\.internal)");
  for (const Instance& i : *described) {
    EXPECT_EQ(i.state, "running");
    EXPECT_TRUE(std::regex_match(i.private_dns_name, dns)) << i.private_dns_name;
    EXPECT_EQ(i.private_ip.rfind("10.0.1.", 0), 0u) << i.private_ip;
    EXPECT_EQ(i.request_id, request.request_id);
    EXPECT_EQ(i.template_id, "moto-tmpl");
    EXPECT_EQ(i.instance_type, "t3.micro");
    EXPECT_EQ(i.lifecycle, "");
    EXPECT_GT(i.launch_time, 0);
  }

  ASSERT_TRUE(provider().Release(ids).ok());
  Result<std::vector<Instance>> after = provider().Describe(ids);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_EQ(after->size(), 3u);
  for (const Instance& i : *after) EXPECT_EQ(i.state, "terminated") << i.instance_id;
}

TEST_F(AwsProviderMotoTest, DescribeWithAnUnknownIdReturnsTheKnownOnes) {
  Result<LaunchResult> launched = provider().Launch(
      MotoTemplate("moto-tmpl"), MotoRequest("req-00000000-0000-4000-8000-000000000003", 2));
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  std::string a = launched->instances[0].instance_id;
  std::string b = launched->instances[1].instance_id;

  Result<std::vector<Instance>> described =
      provider().Describe({a, "i-0123456789abcdef0", b, "i-0fedcba9876543210"});
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  EXPECT_EQ(Ids(*described), (std::set<std::string>{a, b}));

  ASSERT_TRUE(provider().Release({"i-0123456789abcdef0", a, b}).ok());
  Result<std::vector<Instance>> after = provider().Describe({a, b});
  ASSERT_TRUE(after.ok());
  for (const Instance& i : *after) EXPECT_EQ(i.state, "terminated");
}

TEST_F(AwsProviderMotoTest, DescribeOfMoreThanAHundredReservationsReadsEveryPage) {
  // Moto answers a DescribeInstances naming ids 100 reservations at a time,
  // with a nextToken; a poll of 105 one-machine requests names 105.
  std::vector<std::string> ids;
  for (int n = 0; n < 105; ++n) {
    char id[64];
    std::snprintf(id, sizeof id, "req-00000000-0000-4000-8000-%012d", 1000 + n);
    Result<LaunchResult> launched =
        provider().Launch(MotoTemplate("moto-tmpl"), MotoRequest(id, 1));
    ASSERT_TRUE(launched.ok()) << launched.status().ToString();
    ids.push_back(launched->instances[0].instance_id);
  }
  Result<std::vector<Instance>> described = provider().Describe(ids);
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  EXPECT_EQ(described->size(), ids.size());
  EXPECT_EQ(Ids(*described), std::set<std::string>(ids.begin(), ids.end()));
  ASSERT_TRUE(provider().Release(ids).ok());
}

TEST_F(AwsProviderMotoTest, FindByNameByDnsNameAndIp) {
  Result<LaunchResult> launched = provider().Launch(
      MotoTemplate("moto-tmpl"), MotoRequest("req-00000000-0000-4000-8000-000000000004", 2));
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  Result<std::vector<Instance>> described =
      provider().Describe({launched->instances[0].instance_id, launched->instances[1].instance_id});
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->size(), 2u);

  Result<std::vector<Instance>> found = provider().FindByName(
      {(*described)[0].private_dns_name, (*described)[1].private_ip, "ip-10-9-9-9.ec2.internal"});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(Ids(*found), Ids(*described));
}

TEST_F(AwsProviderMotoTest, SpotLaunchIsMarkedSpot) {
  Template t = MotoTemplate("moto-spot");
  t.price_type = "spot";
  t.max_spot_price = 0.05;
  Result<LaunchResult> launched =
      provider().Launch(t, MotoRequest("req-00000000-0000-4000-8000-000000000005", 1));
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  ASSERT_EQ(launched->instances.size(), 1u);
  EXPECT_EQ(launched->instances[0].lifecycle, "spot");
}

TEST_F(AwsProviderMotoTest, RefusedLaunchReportsTheAwsCode) {
  Template t = MotoTemplate("moto-tmpl");
  t.subnet_ids = {"subnet-0000000000000dead"};
  Result<LaunchResult> launched =
      provider().Launch(t, MotoRequest("req-00000000-0000-4000-8000-000000000006", 1));
  ASSERT_FALSE(launched.ok());
  EXPECT_EQ(launched.status().code(), ErrorCode::kProviderError);
  EXPECT_EQ(launched.status().message().rfind("RunInstances failed: InvalidSubnetID.NotFound", 0),
            0u)
      << launched.status().message();
  EXPECT_EQ(launched.status().details()["aws_code"], "InvalidSubnetID.NotFound");
}

TEST_F(AwsProviderMotoTest, MissingSsmParameterIsAConfigurationError) {
  Template t = MotoTemplate("moto-tmpl");
  t.image_id = "/ohfp/test/no-such-parameter";
  Result<LaunchResult> launched =
      provider().Launch(t, MotoRequest("req-00000000-0000-4000-8000-000000000007", 1));
  ASSERT_FALSE(launched.ok());
  EXPECT_EQ(launched.status().code(), ErrorCode::kConfigurationError);
  EXPECT_NE(launched.status().message().find("/ohfp/test/no-such-parameter"), std::string::npos);
}

}  // namespace
}  // namespace ohfp
