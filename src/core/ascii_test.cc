#include "core/ascii.h"

#include <gtest/gtest.h>

namespace ohfp {
namespace {

TEST(AsciiTest, FoldsOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower("X-Amz-Date: 20261204T1200Z"), "x-amz-date: 20261204t1200z");
  EXPECT_EQ(AsciiUpper("spot_fleet-1"), "SPOT_FLEET-1");
  // UTF-8 bytes (here "É") are not letters to fold.
  EXPECT_EQ(AsciiLower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");
  EXPECT_EQ(AsciiLower(""), "");
}

TEST(AsciiTest, ComparesIgnoringCase) {
  EXPECT_TRUE(EqualsIgnoringCase("Content-Length", "content-length"));
  EXPECT_FALSE(EqualsIgnoringCase("Content-Length", "content-lengths"));
  EXPECT_FALSE(EqualsIgnoringCase("a", "b"));
  EXPECT_TRUE(EqualsIgnoringCase("", ""));
}

}  // namespace
}  // namespace ohfp
