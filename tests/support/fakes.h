// Fakes of the seams the request logic depends on: a clock that moves only
// when told, predictable ids, and a cloud that launches, describes and
// terminates instances in memory and can be told to misbehave.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "provider/provider.h"

namespace ohfp::testing {

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now = 1767225600) : now_(now) {}
  int64_t NowSeconds() const override { return now_; }
  int64_t MonotonicMillis() const override { return now_ * 1000; }
  void Advance(int64_t seconds) { now_ += seconds; }

 private:
  int64_t now_;
};

class SequentialIds : public IdGenerator {
 public:
  std::string NewUuid() override;

 private:
  int64_t next_ = 1;
};

/// An in-memory EC2. Instances start in `launch_state` and move only when a
/// test sets them; Release moves them to shutting-down.
class FakeProvider : public Provider {
 public:
  Result<LaunchResult> Launch(const Template& tmpl, const Request& request) override;
  Result<std::vector<Instance>> Describe(const std::vector<std::string>& ids) override;
  Result<std::vector<Instance>> FindByRequest(const std::vector<std::string>& ids) override;
  Result<std::vector<Instance>> FindByName(const std::vector<std::string>& names) override;
  Result<std::vector<Instance>> FindManaged() override;
  Status Release(const std::vector<std::string>& ids) override;

  /// Sets every instance of `request_id` (all instances if "") to `state`.
  void SetState(const std::string& request_id, const std::string& state,
                const std::string& reason = "");
  void SetInstanceState(const std::string& instance_id, const std::string& state,
                        const std::string& reason = "");
  /// Forgets an instance, as EC2 does long after termination.
  void Purge(const std::string& instance_id);

  std::string launch_state = "pending";
  /// Launch times come from this clock when set (else a fixed time).
  const Clock* clock = nullptr;
  /// When set, the next Launch fails with this status (and launches nothing
  /// unless launch_anyway is also set, which models a lost answer).
  Status next_launch_error;
  bool launch_anyway = false;
  Status next_describe_error;
  Status next_find_error;     // the next FindByRequest fails with it
  Status next_release_error;  // the next Release fails with it (terminating nothing)

  /// Called as each Launch or Release begins: what the store holds by then.
  std::function<void()> on_change_call;

  int launch_calls = 0;
  int describe_calls = 0;
  int find_calls = 0;
  int release_calls = 0;
  std::vector<std::string> released;
  std::map<std::string, Instance> instances;  // by id

 private:
  int64_t next_id_ = 1;
  int64_t next_ip_ = 10;
};

}  // namespace ohfp::testing
