#include "aws/ssm_client.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aws/credentials.h"

namespace ohfp::aws {
namespace {

TEST(ParseGetParameterResponseTest, ValueOrError) {
  nlohmann::json answer = nlohmann::json::parse(
      R"({"Parameter": {"Name": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
          "Type": "String", "Value": "ami-0ed094fb1304fd857", "Version": 161}})");
  Result<std::string> value = ParseGetParameterResponse(answer);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "ami-0ed094fb1304fd857");

  EXPECT_FALSE(ParseGetParameterResponse(nlohmann::json::object()).ok());
  EXPECT_FALSE(
      ParseGetParameterResponse(nlohmann::json::parse(R"({"Parameter": {"Value": 3}})")).ok());
  EXPECT_FALSE(ParseGetParameterResponse(nlohmann::json::array()).ok());
}

class FixedClock : public Clock {
 public:
  int64_t NowSeconds() const override { return 1796334116; }
  int64_t MonotonicMillis() const override { return 1000; }
};

// Answers every request with one canned response and keeps what was sent.
class CannedTransport : public HttpTransport {
 public:
  HttpResponse response;
  std::vector<HttpRequest> sent;
  Result<HttpResponse> Send(const HttpRequest& request) override {
    sent.push_back(request);
    return response;
  }
};

class SsmClientTest : public ::testing::Test {
 protected:
  SsmClientTest()
      : credentials_(Credentials{"AKIDEXAMPLE", "secret", "", 0}),
        client_(Options(), &transport_, &credentials_, &clock_, {}),
        ssm_(&client_) {
    client_.set_sleep_for_testing([](int64_t) {});
  }
  static ClientOptions Options() {
    ClientOptions o;
    o.region = "us-east-1";
    o.endpoint_url = "https://fake.invalid";
    return o;
  }
  static std::string Header(const HttpRequest& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      std::string lower = k;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == name) return v;
    }
    return "";
  }

  CannedTransport transport_;
  StaticCredentials credentials_;
  FixedClock clock_;
  AwsClient client_;
  SsmClient ssm_;
};

TEST_F(SsmClientTest, SendsGetParameterAndReadsTheValue) {
  transport_.response.status = 200;
  transport_.response.body = R"({"Parameter": {"Name": "/p", "Type": "String", "Value": "ami-9"}})";
  Result<std::string> value = ssm_.GetParameter("/p");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, "ami-9");
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(Header(transport_.sent[0], "x-amz-target"), "AmazonSSM.GetParameter");
  EXPECT_EQ(Header(transport_.sent[0], "content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(nlohmann::json::parse(transport_.sent[0].body), (nlohmann::json{{"Name", "/p"}}));
}

TEST_F(SsmClientTest, MissingParameterIsAConfigurationErrorNamingIt) {
  transport_.response.status = 400;
  transport_.response.headers = {{"x-amzn-errortype", "ParameterNotFound"}};
  transport_.response.body =
      R"({"__type": "ParameterNotFound", "message": "Parameter /nope/x not found."})";
  Result<std::string> value = ssm_.GetParameter("/nope/x");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), ErrorCode::kConfigurationError);
  EXPECT_EQ(value.status().message(), "SSM parameter '/nope/x' does not exist");
  EXPECT_EQ(value.status().details()["parameter"], "/nope/x");
}

TEST_F(SsmClientTest, OtherErrorsStayProviderErrors) {
  transport_.response.status = 400;
  transport_.response.body = R"({"__type": "AccessDeniedException", "message": "no"})";
  Result<std::string> value = ssm_.GetParameter("/p");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), ErrorCode::kProviderError);
  EXPECT_NE(value.status().message().find("/p"), std::string::npos);
}

}  // namespace
}  // namespace ohfp::aws
