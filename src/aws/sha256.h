// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), the two primitives SigV4
// needs.
//
// Why our own: OpenSSL 3 costs a process about 9 million instructions
// (~3 ms) to load libcrypto and fetch its SHA-256 provider before the first
// digest, more than ohfp spends on everything else in a call, and Host
// Factory starts a new process for every call. SigV4 hashes a few kilobytes
// per request, where this plain implementation takes microseconds. It is
// pinned by the FIPS and RFC 4231 vectors and cross-checked against
// libcrypto in sha256_test.cc. Nothing here is used for secrecy: TLS stays
// with OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ohfp::aws {

using Sha256Digest = std::array<uint8_t, 32>;

/// An incremental SHA-256: Update any number of times, then Finish once.
class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  /// The digest of everything given to Update; the object is spent after.
  Sha256Digest Finish();

 private:
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

/// The SHA-256 digest of `data`.
Sha256Digest Sha256Of(std::string_view data);

/// HMAC-SHA256 of `data` under `key`, as 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace ohfp::aws
