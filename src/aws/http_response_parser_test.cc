#include "aws/http_response_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace ohfp::aws {
namespace {

// Feeds `wire` in pieces of `piece` bytes; the parser's final status.
Status FeedInPieces(HttpResponseParser* parser, const std::string& wire, size_t piece) {
  for (size_t i = 0; i < wire.size(); i += piece) {
    Status s = parser->Feed(std::string_view(wire).substr(i, piece));
    if (!s.ok()) return s;
  }
  return Status();
}

TEST(HttpResponseParserTest, ContentLengthAnswerInAnyPieces) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Amzn-RequestId:  abc \r\n"
      "Content-Length: 11\r\n\r\n<ok>yes</ok>";
  for (size_t piece : {1, 2, 7, 64, 4096}) {
    HttpResponseParser parser;
    // One byte too many: the body is 11 bytes, "<ok>yes</ok" + ">" is 12.
    Status s = FeedInPieces(&parser, wire, piece);
    EXPECT_FALSE(s.ok()) << "piece " << piece;
  }
  const std::string exact = wire.substr(0, wire.size() - 1);
  for (size_t piece : {1, 2, 7, 64, 4096}) {
    HttpResponseParser parser;
    ASSERT_TRUE(FeedInPieces(&parser, exact, piece).ok()) << "piece " << piece;
    ASSERT_TRUE(parser.done());
    EXPECT_TRUE(parser.keep_alive());
    HttpResponse r = parser.Take();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "<ok>yes</ok");
    EXPECT_EQ(r.Header("x-amzn-requestid"), "abc");
    EXPECT_EQ(r.Header("content-type"), "text/xml");
  }
}

TEST(HttpResponseParserTest, ChunkedAnswerWithExtensionsAndTrailers) {
  const std::string wire =
      "HTTP/1.1 503 Slow Down\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
      "Expires: never\r\n\r\n";
  for (size_t piece : {1, 3, 4096}) {
    HttpResponseParser parser;
    ASSERT_TRUE(FeedInPieces(&parser, wire, piece).ok()) << "piece " << piece;
    ASSERT_TRUE(parser.done());
    HttpResponse r = parser.Take();
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, "Wikipedia in\r\n\r\nchunks.");
  }
}

TEST(HttpResponseParserTest, BodyRunningToTheCloseEndsAtEof) {
  HttpResponseParser parser;
  ASSERT_TRUE(parser.Feed("HTTP/1.1 200 OK\r\n\r\npart one, ").ok());
  ASSERT_TRUE(parser.Feed("part two").ok());
  EXPECT_FALSE(parser.done());
  ASSERT_TRUE(parser.FinishAtEof().ok());
  EXPECT_TRUE(parser.done());
  EXPECT_FALSE(parser.keep_alive());
  EXPECT_EQ(parser.Take().body, "part one, part two");
}

TEST(HttpResponseParserTest, InterimAnswersAreSkipped) {
  HttpResponseParser parser;
  ASSERT_TRUE(
      parser.Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
          .ok());
  ASSERT_TRUE(parser.done());
  EXPECT_EQ(parser.Take().status, 201);
}

TEST(HttpResponseParserTest, AnswersWithoutABody) {
  HttpResponseParser head(/*head_request=*/true);
  ASSERT_TRUE(head.Feed("HTTP/1.1 200 OK\r\nContent-Length: 512\r\n\r\n").ok());
  EXPECT_TRUE(head.done());
  HttpResponseParser no_content;
  ASSERT_TRUE(no_content.Feed("HTTP/1.1 204 No Content\r\n\r\n").ok());
  EXPECT_TRUE(no_content.done());
  EXPECT_TRUE(no_content.keep_alive());
}

TEST(HttpResponseParserTest, WhenTheConnectionMayBeReused) {
  HttpResponseParser close;
  ASSERT_TRUE(close
                  .Feed("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n"
                        "Content-Length: 0\r\n\r\n")
                  .ok());
  EXPECT_FALSE(close.keep_alive());
  HttpResponseParser http10;
  ASSERT_TRUE(http10.Feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").ok());
  EXPECT_TRUE(http10.done());
  EXPECT_FALSE(http10.keep_alive());
}

TEST(HttpResponseParserTest, TruncatedAnswersAreErrors) {
  HttpResponseParser nothing;
  Status s = nothing.FinishAtEof();
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(nothing.started());
  EXPECT_EQ(s.details()["transport"], "io");

  HttpResponseParser short_body;
  ASSERT_TRUE(short_body.Feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345").ok());
  EXPECT_TRUE(short_body.started());
  EXPECT_FALSE(short_body.FinishAtEof().ok());
  EXPECT_FALSE(short_body.Feed("67890").ok()) << "nothing can follow the close";

  HttpResponseParser short_chunks;
  ASSERT_TRUE(
      short_chunks.Feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").ok());
  EXPECT_FALSE(short_chunks.FinishAtEof().ok());
}

TEST(HttpResponseParserTest, MalformedAnswersAreErrors) {
  const char* const bad[] = {
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "ICY 200 OK\r\n\r\n",
      "HTTP/1.1 200OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\n folded: value\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
      "HTTP/1.1 101 Switching Protocols\r\n\r\n",
  };
  for (const char* wire : bad) {
    HttpResponseParser parser;
    Status s = parser.Feed(wire);
    EXPECT_FALSE(s.ok()) << wire;
    EXPECT_EQ(s.details()["transport"], "io") << wire;
    EXPECT_FALSE(parser.Feed("more").ok()) << "a failed parser stays failed: " << wire;
  }
}

TEST(HttpResponseParserTest, LimitsAreEnforced) {
  HttpResponseParser huge_head;
  std::string head =
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(HttpResponseParser::kMaxHeaderBytes + 1, 'a');
  EXPECT_FALSE(huge_head.Feed(head).ok());

  HttpResponseParser huge_body;
  EXPECT_FALSE(huge_body
                   .Feed("HTTP/1.1 200 OK\r\nContent-Length: " +
                         std::to_string(HttpResponseParser::kMaxBodyBytes + 1) + "\r\n\r\n")
                   .ok());

  HttpResponseParser huge_chunk;
  EXPECT_FALSE(huge_chunk
                   .Feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "FFFFFFFFFFFFFFFF\r\n")
                   .ok());
}

}  // namespace
}  // namespace ohfp::aws
