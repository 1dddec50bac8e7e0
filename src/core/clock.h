// Time and identifiers are injected so that status rules, timeouts and
// request ids are testable.
#pragma once

#include <cstdint>
#include <string>

namespace ohfp {

/// Wall-clock time source. Production uses SystemClock; tests use a fake.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Seconds since the Unix epoch (UTC).
  virtual int64_t NowSeconds() const = 0;
  /// Milliseconds on a monotonic clock, for deadlines and durations.
  virtual int64_t MonotonicMillis() const = 0;
  /// The same clock in microseconds, for statistics.
  virtual int64_t MonotonicMicros() const { return MonotonicMillis() * 1000; }
};

class SystemClock : public Clock {
 public:
  int64_t NowSeconds() const override;
  int64_t MonotonicMillis() const override;
  int64_t MonotonicMicros() const override;
};

/// Generates request ids and idempotency tokens.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  /// A random lowercase UUID4, e.g. "6f1c2a8e-3b7d-4c55-9a0e-1d2f3a4b5c6d".
  virtual std::string NewUuid() = 0;
};

/// Reads /dev/urandom (falls back to a seeded PRNG only if that fails).
class RandomIdGenerator : public IdGenerator {
 public:
  std::string NewUuid() override;
};

/// "2026-12-03T21:36:49Z" for an epoch second.
std::string FormatIso8601(int64_t epoch_seconds);

/// Parses "2026-12-03T21:36:49Z" or "2026-12-03T21:36:49.000Z"; -1 on error.
int64_t ParseIso8601(const std::string& text);

}  // namespace ohfp
