// The client against moto_server with SigV4 verification switched on: moto
// recomputes every signature, so these tests prove the signer, the form
// encoding and the session-token handling end to end.
#include <gtest/gtest.h>

#include <memory>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/socket_transport.h"
#include "aws/xml.h"
#include "devenv/moto.h"

namespace ohfp::aws {
namespace {

constexpr char kEc2[] = "2016-11-15";
constexpr char kAl2023[] = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64";

class AwsClientMotoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    devenv::MotoOptions options;
    options.signature_checking = true;
    Result<std::unique_ptr<devenv::MotoServer>> server = devenv::MotoServer::Start(options);
    if (server.ok()) {
      server_ = server->release();
    } else {
      start_error_ = new std::string(server.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(server_, nullptr) << (start_error_ ? *start_error_ : ""); }

  std::unique_ptr<AwsClient> Client(const Credentials& credentials) {
    sources_.push_back(std::make_unique<StaticCredentials>(credentials));
    ClientOptions options;
    options.region = server_->region();
    options.endpoint_url = server_->endpoint();
    return std::make_unique<AwsClient>(options, &transport_, sources_.back().get(), &clock_);
  }

  static inline devenv::MotoServer* server_ = nullptr;
  static inline std::string* start_error_ = nullptr;
  SocketTransport transport_;
  SystemClock clock_;
  std::vector<std::unique_ptr<StaticCredentials>> sources_;
};

TEST_F(AwsClientMotoTest, SignedEc2CallSucceeds) {
  auto client = Client(server_->credentials());
  Result<std::string> body = client->CallQuery("ec2", "DescribeInstances", kEc2, {});
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  pugi::xml_document doc;
  ASSERT_TRUE(ParseXml(*body, &doc).ok());
  EXPECT_EQ(LocalName(doc.document_element()), "DescribeInstancesResponse");
}

TEST_F(AwsClientMotoTest, SignedJsonCallsSucceed) {
  auto client = Client(server_->credentials());
  Result<nlohmann::json> answer = client->CallJson(
      "ssm", "AmazonSSM.GetParameter", {{"Name", kAl2023}, {"WithDecryption", false}}, "1.1");
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  std::string ami = (*answer)["Parameter"].value("Value", "");
  EXPECT_EQ(ami.rfind("ami-", 0), 0u) << answer->dump();

  Result<nlohmann::json> tables =
      client->CallJson("dynamodb", "DynamoDB_20120810.ListTables", nlohmann::json::object(), "1.0");
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  EXPECT_TRUE(tables->contains("TableNames"));
}

TEST_F(AwsClientMotoTest, WrongSecretIsAuthFailure) {
  Credentials wrong = server_->credentials();
  wrong.secret_access_key += "x";
  auto client = Client(wrong);
  Result<std::string> body = client->CallQuery("ec2", "DescribeInstances", kEc2, {});
  ASSERT_FALSE(body.ok());
  const nlohmann::json& d = body.status().details();
  EXPECT_EQ(d["aws_code"], "AuthFailure");
  EXPECT_EQ(d["http_status"], 401);
  EXPECT_EQ(d["retryable"], false);
  EXPECT_EQ(d["attempts"], 1);
  EXPECT_EQ(body.status().ToString().find(wrong.secret_access_key), std::string::npos);
}

TEST_F(AwsClientMotoTest, AwkwardFormValuesSurviveSigningAndEncoding) {
  const std::string value = "x y~z*/$\xC3\xA9+&=";
  auto client = Client(server_->credentials());
  Result<std::string> vpc =
      client->CallQuery("ec2", "CreateVpc", kEc2, {{"CidrBlock", "10.9.0.0/16"}});
  ASSERT_TRUE(vpc.ok()) << vpc.status().ToString();
  pugi::xml_document doc;
  ASSERT_TRUE(ParseXml(*vpc, &doc).ok());
  std::string vpc_id = FindFirst(doc, "vpcId").text().get();
  ASSERT_FALSE(vpc_id.empty());

  Result<std::string> tagged =
      client->CallQuery("ec2", "CreateTags", kEc2,
                        {{"ResourceId.1", vpc_id}, {"Tag.1.Key", "a b:c"}, {"Tag.1.Value", value}});
  ASSERT_TRUE(tagged.ok()) << tagged.status().ToString();

  Result<std::string> found = client->CallQuery(
      "ec2", "DescribeVpcs", kEc2, {{"Filter.1.Name", "tag:a b:c"}, {"Filter.1.Value.1", value}});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(ParseXml(*found, &doc).ok());
  std::vector<pugi::xml_node> vpcs = ListItems(doc.document_element(), "vpcSet");
  ASSERT_EQ(vpcs.size(), 1u);
  EXPECT_EQ(ChildText(vpcs[0], "vpcId"), vpc_id);
  std::vector<pugi::xml_node> tags = ListItems(vpcs[0], "tagSet");
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(ChildText(tags[0], "value"), value);
}

TEST_F(AwsClientMotoTest, AssumedRoleCredentialsWorkOnlyWithTheirToken) {
  auto client = Client(server_->credentials());
  Result<Credentials> temporary = devenv::AssumeTestRole(*client, "ohfp-client-test");
  ASSERT_TRUE(temporary.ok()) << temporary.status().ToString();

  Result<std::string> with_token =
      Client(*temporary)->CallQuery("ec2", "DescribeInstances", kEc2, {});
  EXPECT_TRUE(with_token.ok()) << with_token.status().ToString();

  Credentials without_token = *temporary;
  without_token.session_token.clear();
  Result<std::string> rejected =
      Client(without_token)->CallQuery("ec2", "DescribeInstances", kEc2, {});
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.status().details()["http_status"], 401);
}

TEST_F(AwsClientMotoTest, InstanceMetadataCredentialsFromMoto) {
  InstanceMetadataCredentials source({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", server_->endpoint()}},
                                     &transport_);
  Result<Credentials> c = source.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->access_key_id.empty());
  EXPECT_FALSE(c->secret_access_key.empty());
  EXPECT_FALSE(c->session_token.empty());
  EXPECT_GT(c->expiration, 0);
}

}  // namespace
}  // namespace ohfp::aws
