// The parts of the benchmark, each adding its rows to the one report.
#pragma once

#include "bench_context.h"
#include "report.h"

namespace ohfp::bench {

/// Start-up alone: ohfp --version next to exec /bin/true, and the import of
/// boto3 (the floor under any boto3-based plugin).
void BenchStartup(const BenchOptions& options, Report* report);

/// Every Host Factory verb through its script and as a CLI command, one
/// host per request, each next to its floor: a script (or binary) that only
/// execs /bin/true plus the EC2 calls the verb cannot avoid, sent raw.
void BenchVerbs(const BenchOptions& options, MotoFixture& moto, Report* report);

/// getRequestStatus naming many outstanding requests in one call.
void BenchScale(const BenchOptions& options, MotoFixture& moto, Report* report);

/// The same at sizes moto cannot serve (1,000 requests of 10 machines), on
/// a loopback stand-in EC2 that answers at once: the time is nearly all ours.
void BenchScaleOnStandIn(const BenchOptions& options, Report* report);

/// One new request and one status poll against stores with a long history
/// of finished requests, for every store back end.
void BenchStore(const BenchOptions& options, MotoFixture& moto, Report* report);

/// Runs one cycle of the verbs with `verb` under callgrind (instructions
/// counted, so the profile repeats across runs on a noisy machine); writes
/// <out>/callgrind.<verb>.out and its top entries to callgrind.<verb>.txt.
void ProfileVerb(const BenchOptions& options, MotoFixture& moto, const std::string& verb,
                 Report* report);

/// Checks the targets against the rows and adds them (and the notes).
void CheckTargets(const BenchOptions& options, Report* report);

}  // namespace ohfp::bench
