// What every part of the benchmark shares: its options, the moto_server it
// runs against, and running ohfp with its --stats line read back.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "devenv/moto.h"
#include "measured_process.h"
#include "raw_ec2.h"
#include "report.h"

namespace ohfp::bench {

struct BenchOptions {
  std::string binary_dir;  // holds ohfp
  std::string source_dir;  // holds scripts/
  std::string out_dir;     // bench.json, bench.txt, moto logs
  std::string work_dir;    // scratch provider directories
  bool quick = false;      // tiny sizes and few repetitions: proves the bench runs
  int reps = 30;           // repetitions of each cheap case
  std::string profile;     // a verb to run once under callgrind ("" = none)
};

/// A moto_server (signature checking on), a network and the raw-call floor.
struct MotoFixture {
  std::unique_ptr<devenv::MotoServer> server;
  devenv::Network network;
  std::unique_ptr<RawEc2> raw;
};

/// Starts moto on a free loopback port; its log goes to <out_dir>/moto-<name>.log.
/// Ends the bench on failure.
MotoFixture StartMoto(const BenchOptions& options, const std::string& name);

/// Creates a subnet of `cidr` in the fixture's VPC; returns its id.
Result<std::string> CreateSubnet(MotoFixture& moto, const std::string& cidr);

/// One ohfp call (through a script or the command line), measured.
struct OhfpRun {
  ProcessCost cost;
  nlohmann::json answer;
  int64_t aws_calls = 0;
  double aws_http_ms = 0;
  int64_t peak_rss_kib = 0;  // ohfp's own, from its --stats line
};

/// Runs `spec` and reads its --stats line. A run that fails, answers with an
/// error or prints no stats ends the bench: an error path is not what is
/// being measured.
OhfpRun RunOhfp(const ProcessSpec& spec, const std::string& what);

/// Adds a run's wall, CPU, peak RSS, AWS calls and own time to `row`.
void Record(const OhfpRun& run, Row* row);

/// Adds a plain process's wall, CPU and peak RSS to `row`.
void Record(const ProcessCost& cost, Row* row);

/// Runs `work` in a forked child and waits for it; ends the bench if it
/// fails. For work that grows the heap (filling a store with 100,000
/// requests): a child forked later from a fat bench would count the
/// bench's pages in its peak RSS, and pay for copying them in its CPU time.
void RunInChild(const std::function<void()>& work, const std::string& what);

/// What Fail throws, so that moto is stopped and scratch files go on the
/// way out of main.
struct BenchFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Prints `message` to stderr and ends the bench with exit code 1 (in a
/// RunInChild child, ends the child).
[[noreturn]] void Fail(const std::string& message);

/// Progress for the person waiting ("bench: store json 10000 …").
void Progress(const std::string& message);

/// Fails on a bad status: `what` says what was being done.
void Check(const Status& status, const std::string& what);

template <typename T>
T Check(Result<T> result, const std::string& what) {
  if (!result.ok()) Check(result.status(), what);
  return std::move(result).value();
}

}  // namespace ohfp::bench
