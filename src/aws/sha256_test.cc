#include "aws/sha256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>

#include "aws/sigv4.h"

namespace ohfp::aws {
namespace {

std::string Hex(const Sha256Digest& d) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf" and "SHA2_Additional.pdf").
TEST(Sha256Test, MatchesTheFipsExamples) {
  EXPECT_EQ(Hex(Sha256Of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Hex(Sha256Of(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, PiecewiseUpdatesEqualOneUpdate) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  for (size_t split : {0, 1, 55, 56, 63, 64, 65, 127, 128, 999, 1000}) {
    Sha256 hash;
    hash.Update(std::string_view(data).substr(0, split));
    hash.Update(std::string_view(data).substr(split));
    EXPECT_EQ(Hex(hash.Finish()), Hex(Sha256Of(data))) << "split at " << split;
  }
}

// RFC 4231, test cases 1-4, 6 and 7 (case 5 tests truncated output).
TEST(HmacSha256Test, MatchesRfc4231) {
  struct Case {
    std::string key;
    std::string data;
    const char* mac;
  };
  const Case cases[] = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const Case& c : cases) EXPECT_EQ(HexEncode(HmacSha256(c.key, c.data)), c.mac);
}

// Every length around the block and padding boundaries, and random inputs,
// against libcrypto.
TEST(Sha256Test, AgreesWithOpenSsl) {
  std::mt19937 random(20261204);
  for (size_t length = 0; length < 300; ++length) {
    std::string data(length, '\0');
    for (char& c : data) c = static_cast<char>(random());
    std::string key(length % 150, '\0');
    for (char& c : key) c = static_cast<char>(random());

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ASSERT_EQ(EVP_Digest(data.data(), data.size(), md, &md_len, EVP_sha256(), nullptr), 1);
    Sha256Digest ours = Sha256Of(data);
    ASSERT_EQ(std::string(reinterpret_cast<char*>(md), md_len),
              std::string(reinterpret_cast<const char*>(ours.data()), ours.size()))
        << "length " << length;

    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &md_len);
    ASSERT_EQ(std::string(reinterpret_cast<char*>(md), md_len), HmacSha256(key, data))
        << "length " << length << ", key length " << key.size();
  }
}

}  // namespace
}  // namespace ohfp::aws
