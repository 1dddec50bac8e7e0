#include "aws/sigv4.h"
#include "aws/sha256.h"
#include "support/sigv4_request_text.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.h"

namespace ohfp::aws {
namespace {

const char kSuiteDir[] = OHFP_SHARED_DIR "/testdata/sigv4";
const char kSessionToken[] = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";

Credentials SuiteCredentials() {
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  return c;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Path of the suite file for `name` ("post-sts-token/post-sts-header-after").
std::string CaseFile(const std::string& name, const std::string& ext) {
  std::string base = name.substr(name.rfind('/') + 1);
  return std::string(kSuiteDir) + "/" + name + "/" + base + "." + ext;
}

class SuiteCase : public ::testing::TestWithParam<const char*> {};

TEST_P(SuiteCase, MatchesCanonicalRequestStringToSignAndAuthorization) {
  std::string name = GetParam();
  SigningInput input = testsupport::ParseRequestText(ReadFile(CaseFile(name, "req")));
  if (name == "get-vanilla-with-session-token") {
    input.headers.emplace_back("X-Amz-Security-Token", kSessionToken);
  }

  SigningResult result = ComputeSignature(input, SuiteCredentials(), "us-east-1", "service");

  // The suite's .creq for this case wrongly lists content-length; its .sts and
  // .authz were made without it.
  if (name != "post-x-www-form-urlencoded") {
    EXPECT_EQ(result.canonical_request, ReadFile(CaseFile(name, "creq")));
  } else {
    EXPECT_EQ(result.signed_headers, "content-type;host;x-amz-date");
  }
  EXPECT_EQ(result.string_to_sign, ReadFile(CaseFile(name, "sts")));
  EXPECT_EQ(result.authorization, ReadFile(CaseFile(name, "authz")));
}

INSTANTIATE_TEST_SUITE_P(
    Sigv4Suite, SuiteCase,
    ::testing::Values("get-vanilla", "get-vanilla-query", "get-vanilla-empty-query-key",
                      "get-vanilla-query-order-key", "get-vanilla-query-order-key-case",
                      "get-vanilla-query-order-value", "get-vanilla-query-unreserved",
                      "get-vanilla-utf8-query", "get-vanilla-query-order-encoded", "get-unreserved",
                      "get-utf8", "get-header-key-duplicate", "get-header-value-order",
                      "get-header-value-trim", "get-header-value-multiline", "post-vanilla",
                      "post-vanilla-query", "post-vanilla-empty-query-value",
                      "post-header-key-case", "post-header-key-sort", "post-header-value-case",
                      "post-x-www-form-urlencoded", "post-sts-token/post-sts-header-before",
                      "post-sts-token/post-sts-header-after", "get-vanilla-with-session-token",
                      "normalize-path/get-space", "normalize-path/get-relative",
                      "normalize-path/get-relative-relative", "normalize-path/get-slash",
                      "normalize-path/get-slash-dot-slash",
                      "normalize-path/get-slash-pointless-dot", "normalize-path/get-slashes"),
    [](const ::testing::TestParamInfo<const char*>& info) {
      std::string n = info.param;
      for (char& c : n) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

// The inconsistent case can still check the last step: its .sts signs to the
// signature in its .authz.
TEST(Sigv4Test, FormParametersCaseStringToSignGivesItsSignature) {
  std::string name = "post-x-www-form-urlencoded-parameters";
  std::string sts = ReadFile(CaseFile(name, "sts"));
  std::string authz = ReadFile(CaseFile(name, "authz"));
  std::string key =
      DeriveSigningKey(SuiteCredentials().secret_access_key, "20150830", "us-east-1", "service");
  std::string signature = HexEncode(HmacSha256(key, sts));
  EXPECT_EQ(authz.substr(authz.rfind("Signature=") + 10), signature);
}

int64_t SuiteTime() { return ParseIso8601("2015-08-30T12:36:00Z"); }

TEST(Sigv4Test, FormatAmzDate) { EXPECT_EQ(FormatAmzDate(SuiteTime()), "20150830T123600Z"); }

TEST(Sigv4Test, SignRequestSignsTheSessionToken) {
  HttpRequest request;
  request.method = "GET";
  request.url = "https://example.amazonaws.com/";
  request.headers = {{"Host", "example.amazonaws.com"}, {"User-Agent", "ohfp-test"}};
  Credentials creds = SuiteCredentials();
  creds.session_token = kSessionToken;

  ASSERT_TRUE(SignRequest(&request, creds, "us-east-1", "service", SuiteTime()).ok());

  std::string authorization, token, date;
  for (const auto& [name, value] : request.headers) {
    if (name == "Authorization") authorization = value;
    if (name == "X-Amz-Security-Token") token = value;
    if (name == "X-Amz-Date") date = value;
  }
  EXPECT_EQ(authorization, ReadFile(CaseFile("get-vanilla-with-session-token", "authz")));
  EXPECT_EQ(token, kSessionToken);
  EXPECT_EQ(date, "20150830T123600Z");
}

TEST(Sigv4Test, SignRequestCanAddTheTokenAfterSigning) {
  HttpRequest request;
  request.method = "POST";
  request.url = "https://example.amazonaws.com/";
  request.headers = {{"Host", "example.amazonaws.com"}};
  Credentials creds = SuiteCredentials();
  creds.session_token = "AQoDYXdzEPT//////////wEXAMPLE";
  SignOptions options;
  options.sign_session_token = false;

  ASSERT_TRUE(SignRequest(&request, creds, "us-east-1", "service", SuiteTime(), options).ok());

  std::string authorization;
  bool has_token = false;
  for (const auto& [name, value] : request.headers) {
    if (name == "Authorization") authorization = value;
    if (name == "X-Amz-Security-Token") has_token = value == creds.session_token;
  }
  EXPECT_EQ(authorization, ReadFile(CaseFile("post-sts-token/post-sts-header-after", "authz")));
  EXPECT_TRUE(has_token);
}

TEST(Sigv4Test, SignRequestReplacesAnEarlierSignature) {
  HttpRequest request;
  request.method = "GET";
  request.url = "https://example.amazonaws.com/";
  request.headers = {{"Host", "example.amazonaws.com"}};
  ASSERT_TRUE(SignRequest(&request, SuiteCredentials(), "us-east-1", "service", 0).ok());
  ASSERT_TRUE(SignRequest(&request, SuiteCredentials(), "us-east-1", "service", SuiteTime()).ok());

  int authorizations = 0;
  for (const auto& [name, value] : request.headers) {
    if (name == "Authorization") {
      ++authorizations;
      EXPECT_EQ(value, ReadFile(CaseFile("get-vanilla", "authz")));
    }
  }
  EXPECT_EQ(authorizations, 1);
}

TEST(Sigv4Test, SignRequestNeedsKeys) {
  HttpRequest request;
  request.url = "https://example.amazonaws.com/";
  Status s = SignRequest(&request, Credentials{}, "us-east-1", "ec2", SuiteTime());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidRequest);
}

TEST(Sigv4Test, UnsignedHeadersAreLeftOut) {
  EXPECT_FALSE(IsSignedHeader("Content-Length"));
  EXPECT_FALSE(IsSignedHeader("user-agent"));
  EXPECT_FALSE(IsSignedHeader("amz-sdk-request"));
  EXPECT_TRUE(IsSignedHeader("X-Amz-Target"));
  EXPECT_TRUE(IsSignedHeader("content-type"));
}

TEST(Sigv4Test, CanonicalUriEncodesAlreadyEncodedPathsAgain) {
  EXPECT_EQ(CanonicalUri("/a%20b"), "/a%2520b");
  EXPECT_EQ(CanonicalUri(""), "/");
  EXPECT_EQ(CanonicalUri("/prefix/"), "/prefix/");
}

TEST(Sigv4Test, CanonicalQueryUsesPercentTwentyForSpace) {
  EXPECT_EQ(CanonicalQueryString("b=x+y&a=1 2&c"), "a=1%202&b=x%2By&c=");
}

TEST(Sigv4Test, Sha256OfEmptyBody) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sigv4Test, HeadersForLogHideTheKeyIdSignatureAndToken) {
  HttpRequest request;
  request.method = "POST";
  request.url = "https://example.amazonaws.com/";
  request.headers = {{"Host", "example.amazonaws.com"}};
  Credentials creds = SuiteCredentials();
  creds.session_token = kSessionToken;
  ASSERT_TRUE(SignRequest(&request, creds, "us-east-1", "service", SuiteTime()).ok());
  std::string signature;
  for (const auto& [name, value] : request.headers) {
    if (name == "Authorization") signature = value.substr(value.find("Signature=") + 10);
  }
  ASSERT_EQ(signature.size(), 64u);

  std::string line = HeadersForLog(request.headers);
  EXPECT_EQ(line.find(creds.access_key_id), std::string::npos) << line;
  EXPECT_EQ(line.find(creds.secret_access_key), std::string::npos) << line;
  EXPECT_EQ(line.find(kSessionToken), std::string::npos) << line;
  EXPECT_EQ(line.find(signature), std::string::npos) << line;
  // What helps a reader stays: the scope, the signed headers, the host.
  EXPECT_NE(line.find("/20150830/us-east-1/service/aws4_request"), std::string::npos) << line;
  EXPECT_NE(line.find("SignedHeaders="), std::string::npos) << line;
  EXPECT_NE(line.find("Host: example.amazonaws.com"), std::string::npos) << line;
}

}  // namespace
}  // namespace ohfp::aws
