#include "aws/xml.h"

#include <gtest/gtest.h>

namespace ohfp::aws {
namespace {

HttpResponse Answer(int status, std::string body, Headers headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(XmlTest, LookupsIgnoreNamespaces) {
  // Moto writes the EC2 namespace without the trailing '/'; a prefix is
  // possible too.
  std::string text =
      "<?xml version=\"1.0\"?><x:CreateVpcResponse xmlns:x=\"http://ec2.amazonaws.com/doc/"
      "2016-11-15\"><x:requestId>r-1</x:requestId><x:vpc><x:vpcId>vpc-1</x:vpcId>"
      "<x:state>available</x:state></x:vpc></x:CreateVpcResponse>";
  pugi::xml_document doc;
  ASSERT_TRUE(ParseXml(text, &doc).ok());
  EXPECT_EQ(LocalName(doc.document_element()), "CreateVpcResponse");
  EXPECT_EQ(ChildText(doc.document_element(), "vpc/vpcId"), "vpc-1");
  EXPECT_EQ(std::string(FindFirst(doc, "state").text().get()), "available");
  EXPECT_EQ(ChildText(doc.document_element(), "vpc/missing"), "");
  EXPECT_FALSE(FindFirst(doc, "nothing"));
}

TEST(XmlTest, ChildLooksOnlyOneLevelDown) {
  pugi::xml_document doc;
  ASSERT_TRUE(ParseXml("<a><b><c>deep</c></b><c>top</c></a>", &doc).ok());
  EXPECT_EQ(ChildText(doc.document_element(), "c"), "top");
  EXPECT_EQ(ChildText(doc.document_element(), "b/c"), "deep");
}

TEST(XmlTest, ListItemsReadsItemAndMemberLists) {
  pugi::xml_document doc;
  ASSERT_TRUE(ParseXml("<r><set><item><v>1</v></item><item><v>2</v></item></set>"
                       "<Res><Groups><member>a</member><member>b</member><member>c</member>"
                       "</Groups></Res></r>",
                       &doc)
                  .ok());
  std::vector<pugi::xml_node> items = ListItems(doc.document_element(), "set");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(ChildText(items[1], "v"), "2");
  EXPECT_EQ(ListItems(doc.document_element(), "Res/Groups").size(), 3u);
  EXPECT_TRUE(ListItems(doc.document_element(), "none").empty());
  EXPECT_EQ(Children(doc.document_element(), "set").size(), 1u);
}

TEST(XmlTest, MalformedXmlIsAProviderError) {
  pugi::xml_document doc;
  Status s = ParseXml("<a><b></a>", &doc);
  EXPECT_EQ(s.code(), ErrorCode::kProviderError);
}

TEST(XmlTest, Ec2ErrorShape) {
  AwsError e = DecodeError(Answer(
      400,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>"
      "InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist</Message>"
      "</Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"));
  EXPECT_EQ(e.code, "InvalidInstanceID.NotFound");
  EXPECT_EQ(e.message, "The instance ID 'i-1' does not exist");
  EXPECT_EQ(e.request_id, "ea966190-f9aa-478e-9ede-example");
}

TEST(XmlTest, QueryErrorShape) {
  AwsError e = DecodeError(Answer(
      400,
      "<ErrorResponse xmlns=\"https://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>"
      "Sender</Type><Code>ValidationError</Code><Message>AutoScalingGroup name not found"
      "</Message></Error><RequestId>req-9</RequestId></ErrorResponse>"));
  EXPECT_EQ(e.code, "ValidationError");
  EXPECT_EQ(e.message, "AutoScalingGroup name not found");
  EXPECT_EQ(e.request_id, "req-9");
}

TEST(XmlTest, MotoAuthErrorShape) {
  AwsError e = DecodeError(
      Answer(401,
             "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse><Errors><Error><Code>"
             "AuthFailure</Code><Message>AWS was not able to validate the provided access "
             "credentials</Message></Error></Errors><RequestID>x</RequestID></ErrorResponse>"));
  EXPECT_EQ(e.code, "AuthFailure");
  EXPECT_EQ(e.request_id, "x");
}

TEST(XmlTest, JsonErrorTypesLoseTheirPrefixAndSuffix) {
  AwsError e = DecodeError(
      Answer(400,
             "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\","
             "\"message\":\"The conditional request failed\"}",
             {{"x-amzn-requestid", "DDB1"}}));
  EXPECT_EQ(e.code, "ConditionalCheckFailedException");
  EXPECT_EQ(e.message, "The conditional request failed");
  EXPECT_EQ(e.request_id, "DDB1");

  e = DecodeError(Answer(400, "{\"__type\":\"ParameterNotFound:http://x/\",\"Message\":\"m\"}"));
  EXPECT_EQ(e.code, "ParameterNotFound");
  EXPECT_EQ(e.message, "m");
}

TEST(XmlTest, HeaderErrorTypeWhenTheBodyHasNone) {
  AwsError e = DecodeError(Answer(400, "", {{"x-amzn-errortype", "ThrottlingException:x"}}));
  EXPECT_EQ(e.code, "ThrottlingException");
}

// Found by aws_error_fuzzer: a header that strips to nothing gave an empty code.
TEST(XmlTest, HeaderErrorTypeWithoutANameFallsBackToTheStatus) {
  EXPECT_EQ(DecodeError(Answer(457, ":", {{"x-amzn-errortype", "::"}})).code, "HttpError457");
  EXPECT_EQ(DecodeError(Answer(503, "", {{"x-amzn-errortype", "prefix#"}})).code, "InternalError");
}

TEST(XmlTest, HtmlServerErrorBecomesInternalError) {
  AwsError e = DecodeError(
      Answer(500,
             "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
             "<h1>Internal Server Error</h1><p>The server encountered an internal error"));
  EXPECT_EQ(e.code, "InternalError");
  EXPECT_NE(e.message.find("500"), std::string::npos);
}

TEST(XmlTest, UndecodableAnswersNeverCrash) {
  EXPECT_EQ(DecodeError(Answer(502, "")).code, "InternalError");
  EXPECT_EQ(DecodeError(Answer(403, "Forbidden")).code, "HttpError403");
  EXPECT_EQ(DecodeError(Answer(400, "{not json")).code, "HttpError400");
  EXPECT_EQ(DecodeError(Answer(400, "<a><b>")).code, "HttpError400");
  EXPECT_EQ(DecodeError(Answer(400, "[1,2]")).code, "HttpError400");
  EXPECT_EQ(DecodeError(Answer(400, "{\"__type\": 5}")).code, "HttpError400");
  EXPECT_EQ(DecodeError(Answer(503, "<Error><Code>SlowDown</Code></Error>")).code, "SlowDown");
}

}  // namespace
}  // namespace ohfp::aws
