#include "aws/endpoints.h"

#include <gtest/gtest.h>

namespace ohfp::aws {
namespace {

using Env = std::map<std::string, std::string>;

std::string UrlOf(const std::string& service, const std::string& region, const std::string& exp,
                  const Env& env) {
  Result<Endpoint> e = ResolveEndpoint(service, region, exp, env);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? e->url : "";
}

TEST(EndpointsTest, DefaultsAreRegional) {
  EXPECT_EQ(UrlOf("ec2", "eu-west-1", "", {}), "https://ec2.eu-west-1.amazonaws.com/");
  EXPECT_EQ(UrlOf("autoscaling", "us-east-2", "", {}),
            "https://autoscaling.us-east-2.amazonaws.com/");
  EXPECT_EQ(UrlOf("sts", "us-west-2", "", {}), "https://sts.us-west-2.amazonaws.com/");
}

TEST(EndpointsTest, ChinaRegionsUseTheCnDomain) {
  EXPECT_EQ(UrlOf("ssm", "cn-north-1", "", {}), "https://ssm.cn-north-1.amazonaws.com.cn/");
}

TEST(EndpointsTest, IamIsGlobalAndSignedInUsEast1) {
  Result<Endpoint> e = ResolveEndpoint("iam", "eu-central-1", "", {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->url, "https://iam.amazonaws.com/");
  EXPECT_EQ(e->signing_region, "us-east-1");
  EXPECT_EQ(e->signing_name, "iam");
}

TEST(EndpointsTest, LegacyStsIsGlobal) {
  Result<Endpoint> e =
      ResolveEndpoint("sts", "eu-west-1", "", {{"AWS_STS_REGIONAL_ENDPOINTS", "legacy"}});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->url, "https://sts.amazonaws.com/");
  EXPECT_EQ(e->signing_region, "us-east-1");
}

TEST(EndpointsTest, PrecedenceExplicitThenServiceThenGlobal) {
  Env env = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
             {"AWS_ENDPOINT_URL_AUTO_SCALING", "http://127.0.0.1:2"},
             {"AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:3"}};
  EXPECT_EQ(UrlOf("ec2", "us-east-1", "http://127.0.0.1:9", env), "http://127.0.0.1:9/");
  EXPECT_EQ(UrlOf("ec2", "us-east-1", "", env), "http://127.0.0.1:3/");
  EXPECT_EQ(UrlOf("autoscaling", "us-east-1", "", env), "http://127.0.0.1:2/");
  EXPECT_EQ(UrlOf("ssm", "us-east-1", "", env), "http://127.0.0.1:1/");
}

TEST(EndpointsTest, EveryServiceHasItsVariable) {
  for (auto [service, suffix] :
       std::vector<std::pair<std::string, std::string>>{{"ec2", "EC2"},
                                                        {"autoscaling", "AUTO_SCALING"},
                                                        {"ssm", "SSM"},
                                                        {"dynamodb", "DYNAMODB"},
                                                        {"sts", "STS"},
                                                        {"iam", "IAM"}}) {
    EXPECT_EQ(EndpointEnvSuffix(service), suffix);
    Env env = {{"AWS_ENDPOINT_URL_" + suffix, "http://127.0.0.1:7/p"}};
    EXPECT_EQ(UrlOf(service, "us-east-1", "", env), "http://127.0.0.1:7/p/") << service;
  }
}

TEST(EndpointsTest, IgnoreConfiguredEndpointsKeepsExplicit) {
  Env env = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
             {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"}};
  EXPECT_EQ(UrlOf("ec2", "us-east-1", "", env), "https://ec2.us-east-1.amazonaws.com/");
  EXPECT_EQ(UrlOf("ec2", "us-east-1", "http://127.0.0.1:5", env), "http://127.0.0.1:5/");
}

TEST(EndpointsTest, OverrideStillSignsWithTheRegion) {
  Result<Endpoint> e = ResolveEndpoint("ec2", "ap-south-1", "http://127.0.0.1:5123", {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->signing_region, "ap-south-1");
  EXPECT_EQ(e->signing_name, "ec2");
}

TEST(EndpointsTest, Errors) {
  EXPECT_EQ(ResolveEndpoint("ec2", "", "", {}).status().code(), ErrorCode::kConfigurationError);
  EXPECT_EQ(ResolveEndpoint("ec2", "us-east-1/x", "", {}).status().code(),
            ErrorCode::kConfigurationError);
  Env env = {{"AWS_ENDPOINT_URL", "ftp://127.0.0.1"}};
  Result<Endpoint> e = ResolveEndpoint("ec2", "us-east-1", "", env);
  EXPECT_EQ(e.status().code(), ErrorCode::kConfigurationError);
  EXPECT_NE(e.status().message().find("AWS_ENDPOINT_URL"), std::string::npos);
}

TEST(EndpointsTest, ParseUrlAndHostHeader) {
  Result<Url> u = ParseUrl("HTTP://127.0.0.1:5123/prefix?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 5123);
  EXPECT_EQ(u->path, "/prefix");
  EXPECT_EQ(u->query, "x=1");
  EXPECT_EQ(HostHeader(*u), "127.0.0.1:5123");

  EXPECT_EQ(HostHeader(*ParseUrl("https://ec2.us-east-1.amazonaws.com")),
            "ec2.us-east-1.amazonaws.com");
  EXPECT_EQ(HostHeader(*ParseUrl("https://h:443/")), "h");
  EXPECT_EQ(HostHeader(*ParseUrl("http://h:80/")), "h");
  EXPECT_EQ(HostHeader(*ParseUrl("http://h:443/")), "h:443");
  EXPECT_EQ(HostHeader(*ParseUrl("http://[fd00:ec2::254]/")), "[fd00:ec2::254]");
  EXPECT_EQ(HostHeader(*ParseUrl("http://[::1]:8080")), "[::1]:8080");
  EXPECT_EQ(ParseUrl("http://h").value().path, "/");

  EXPECT_FALSE(ParseUrl("127.0.0.1:5123").ok());
  EXPECT_FALSE(ParseUrl("http://:80/").ok());
  EXPECT_FALSE(ParseUrl("http://h:99999/").ok());
  EXPECT_FALSE(ParseUrl("http://h:x/").ok());
  EXPECT_FALSE(ParseUrl("http://user:pw@h/").ok());
}

}  // namespace
}  // namespace ohfp::aws
