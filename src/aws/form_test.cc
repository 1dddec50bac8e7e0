#include "aws/form.h"

#include <gtest/gtest.h>

namespace ohfp::aws {
namespace {

// The exact body botocore sent for a tag filter with awkward characters.
TEST(FormTest, EncodesLikeBotocore) {
  FormParams params = {{"Filter.1.Name", "tag:a b"}, {"Filter.1.Value.1", "x y~z*/$\xC3\xA9+&="}};
  EXPECT_EQ(EncodeFormBody(params),
            "Filter.1.Name=tag%3Aa+b&Filter.1.Value.1=x+y~z%2A%2F%24%C3%A9%2B%26%3D");
}

TEST(FormTest, KeepsUnreservedCharacters) {
  std::string unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(FormEncode(unreserved), unreserved);
  EXPECT_EQ(UriEncode(unreserved), unreserved);
}

TEST(FormTest, EscapesControlAndHighBytesInUpperHex) {
  EXPECT_EQ(FormEncode(std::string("\n\x7f\xff", 3)), "%0A%7F%FF");
  EXPECT_EQ(FormEncode(std::string("a\0b", 3)), "a%00b");
}

TEST(FormTest, EmptyValuesKeepTheEqualsSign) {
  EXPECT_EQ(EncodeFormBody({{"Action", "X"}, {"Empty", ""}}), "Action=X&Empty=");
  EXPECT_EQ(EncodeFormBody({}), "");
}

TEST(FormTest, UriEncodeWritesSpaceAsPercentTwenty) {
  EXPECT_EQ(UriEncode("a b+c/d"), "a%20b%2Bc%2Fd");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
}

TEST(FormTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("%E1%88%B4x"), "\xE1\x88\xB4x");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(PercentDecode("%4a"), "J");
}

TEST(FormTest, ParseRoundTripsEncode) {
  FormParams params = {{"Action", "CreateTags"}, {"Tag.1.Value", "x y~z*/$\xC3\xA9+&="}, {"k", ""}};
  EXPECT_EQ(ParseFormBody(EncodeFormBody(params)), params);
  FormParams bare = {{"flag", ""}};
  EXPECT_EQ(ParseFormBody("flag"), bare);
}

}  // namespace
}  // namespace ohfp::aws
