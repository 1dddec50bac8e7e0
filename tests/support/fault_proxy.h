// A fault-injecting HTTP proxy for tests: it listens on a free 127.0.0.1
// port, forwards each request to an upstream on loopback (moto_server) and,
// by rule, delays, drops, holds, fails, throttles or rewrites the answer.
// Moto never misbehaves on its own; this is how tests meet a lossy network,
// a throttling EC2 and answers moto cannot give (pending instances, partly
// filled fleets, reclaimed spot hosts).
//
// One request per connection ("Connection: close" both ways), so a fault
// never hits a reused connection that the transport would silently retry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace ohfp::testsupport {

enum class FaultKind {
  kDelay,        // forward, then hold the answer for a while before sending it
  kResetBefore,  // reset the connection without forwarding: AWS never saw the call
  kResetAfter,   // forward, then reset: AWS acted but the answer is lost
  kHold,         // neither forward nor answer until the client gives up
  kServerError,  // 500 with an HTML body, not forwarded
  kUnavailable,  // 503 with an HTML body, not forwarded
  kThrottle,     // the service's throttling error, not forwarded (shape: see .cc)
  kRewrite,      // forward, then pass the answer body through FaultRule::rewrite
};

/// "delay", "reset_before", …: the name used in counts and reports.
const char* FaultKindName(FaultKind kind);

/// Every kind that makes a call fail or slow without rewriting it.
std::vector<FaultKind> AllFailureKinds();

/// What one request looked like, for rules and rewrites.
struct ProxiedCall {
  std::string action;   // Action= form parameter, or the X-Amz-Target operation
  std::string service;  // signing service from the Authorization scope ("ec2", "ssm")
  bool json = false;    // a JSON protocol call (X-Amz-Target present)
  std::string body;     // the request body
};

struct FaultRule {
  /// Actions this rule applies to ("RunInstances", "GetParameter"); empty = any.
  std::vector<std::string> actions;
  /// One is picked at random (seeded) for each injected fault.
  std::vector<FaultKind> kinds;
  /// Chance of injecting on a matching call.
  double probability = 1.0;
  /// Inject on at most this many matching calls (-1 = no limit).
  int64_t first_n = -1;
  /// kDelay: the answer is held for a uniform time in [min, max] ms.
  int64_t delay_min_ms = 200;
  int64_t delay_max_ms = 200;
  /// kHold: released after this long even if the client is still waiting.
  int64_t hold_max_ms = 60000;
  /// kRewrite: the new answer body, from the call and the upstream body.
  std::function<std::string(const ProxiedCall&, const std::string& body)> rewrite;

  // Setters for building a rule in one expression.
  FaultRule& On(std::vector<std::string> a) { return actions = std::move(a), *this; }
  FaultRule& Inject(std::vector<FaultKind> k) { return kinds = std::move(k), *this; }
  FaultRule& WithProbability(double p) { return probability = p, *this; }
  FaultRule& FirstN(int64_t n) { return first_n = n, *this; }
  FaultRule& DelayBetween(int64_t min_ms, int64_t max_ms) {
    delay_min_ms = min_ms;
    delay_max_ms = max_ms;
    return *this;
  }
  FaultRule& HoldAtMost(int64_t ms) { return hold_max_ms = ms, *this; }
  FaultRule& RewriteWith(std::function<std::string(const ProxiedCall&, const std::string&)> f) {
    return rewrite = std::move(f), *this;
  }
};

/// What the proxy did, for assertions and reports.
struct FaultCounts {
  std::map<std::string, int64_t> calls;             // by action
  std::map<std::string, int64_t> faults;            // by kind name
  std::map<std::string, int64_t> faults_by_action;  // "RunInstances/reset_after"
  int64_t forwarded = 0;                            // requests that reached upstream
  int64_t upstream_errors = 0;                      // 5xx answers upstream gave by itself
  int64_t total_calls() const;
  int64_t total_faults() const;
};

class FaultProxy {
 public:
  /// Starts listening on a free 127.0.0.1 port, forwarding to
  /// 127.0.0.1:`upstream_port`; `seed` makes fault decisions repeatable for
  /// the same order of calls. Null (with a message on stderr) on failure.
  static std::unique_ptr<FaultProxy> Start(int upstream_port, uint64_t seed);
  ~FaultProxy();  // stops: closes every connection and joins every thread
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  /// Rules are tried in order; the first that injects wins, else the call
  /// passes through.
  void AddRule(FaultRule rule);
  void ClearRules();

  /// Calls of these actions reach upstream one at a time. Moto hands out a
  /// subnet's private IPs from one Python generator that its threads share:
  /// two RunInstances at once can fail one midway ("generator already
  /// executing": HTTP 500 after part of the reservation exists), which EC2
  /// never does.
  void SendOneAtATime(std::vector<std::string> actions);

  FaultCounts counts() const;
  void ResetCounts();
  /// One line: calls per action, faults per kind.
  std::string Report() const;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  struct Rule {
    FaultRule spec;
    int64_t injected = 0;
  };
  struct Decision {
    bool inject = false;
    FaultKind kind = FaultKind::kDelay;
    int64_t delay_ms = 0;
    int64_t hold_max_ms = 0;
    std::function<std::string(const ProxiedCall&, const std::string&)> rewrite;
  };

  FaultProxy() = default;
  void AcceptLoop();
  void Serve(int client);
  Decision Decide(const ProxiedCall& call);
  /// Sends `request` to upstream and reads the whole answer; "" on failure.
  std::string Forward(const std::string& request);
  /// Waits up to `ms`, or until the client hangs up or the proxy stops;
  /// true when the client is still there.
  bool WaitWhileConnected(int client, int64_t ms);

  int upstream_port_ = 0;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // written on stop, so every poll() returns
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  std::mutex one_at_a_time_;  // held while forwarding such a call

  mutable std::mutex mu_;  // guards everything below
  std::vector<Rule> rules_;
  std::vector<std::string> sent_alone_;  // SendOneAtATime's actions
  std::mt19937_64 random_;
  FaultCounts counts_;
  int64_t next_request_id_ = 1;
  std::vector<std::thread> workers_;
};

}  // namespace ohfp::testsupport
