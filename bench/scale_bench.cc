// getRequestStatus naming 1 … 1,000 outstanding requests in one call.
//
// Moto makes an instance `running` at once, so a request is outstanding only
// until its first poll. Each repetition therefore measures a first poll: the
// store is put back, through the Store API, to what requestMachines leaves
// behind (requests in progress, their machines pending) for instances that
// really exist in moto, one reservation per request. The poll then does all
// the work of a real one (read the requests, describe every machine, decide,
// write what changed), plus finalizing every request, which a poll of
// requests that stay outstanding would not have to do.
//
// Moto cannot serve the largest point (it takes several ms per instance it
// describes), so it is measured on a stand-in EC2 that answers at once
// (stand_in_ec2.h), next to 1,000 x 1 for comparison with moto's row: rows
// "… (stand-in EC2)", where the time is nearly all ohfp's own.

#include <cmath>
#include <functional>

#include "cases.h"
#include "provider/aws_provider.h"
#include "provider_dir.h"
#include "sections.h"
#include "stand_in_ec2.h"
#include "store/store.h"

namespace ohfp::bench {
namespace {

using json = nlohmann::json;

constexpr int kLaunchBatch = 100;

struct ScalePoint {
  int requests;
  int machines;  // per request
};

/// The state requestMachines leaves for `requests` requests of `machines`
/// hosts each, on the first requests x machines instances `launched`.
StoreChange Outstanding(const std::string& prefix, int requests, int machines,
                        const std::vector<std::string>& launched, int64_t now) {
  StoreChange change;
  for (int k = 0; k < requests; ++k) {
    Request r;
    r.request_id = prefix + std::to_string(k);
    r.kind = RequestKind::kAcquire;
    r.template_id = "bench-RunInstances";
    r.provider_api = "RunInstances";
    r.machine_count = machines;
    r.state = RequestState::kInProgress;
    r.message = std::to_string(machines) + " instances launching";
    r.client_token = r.request_id;
    r.handles = {{"reservation_ids", {"r-bench-" + std::to_string(k)}}};
    r.created_at = r.updated_at = now - 30;
    r.launch_attempts = 1;
    change.requests.push_back(r);
    for (int i = 0; i < machines; ++i) {
      Machine m;
      m.machine_id = launched[static_cast<size_t>(k) * machines + i];
      m.request_id = r.request_id;
      m.template_id = r.template_id;
      m.state = "pending";
      m.instance_type = kBenchInstanceType;
      m.price_type = "ondemand";
      m.launch_time = m.updated_at = now - 30;
      change.machines.push_back(m);
    }
  }
  return change;
}

json StatusInput(const StoreChange& change) {
  json requests = json::array();
  for (const Request& r : change.requests) requests.push_back({{"requestId", r.request_id}});
  return {{"requests", requests}};
}

std::vector<std::string> MachineIds(const StoreChange& change) {
  std::vector<std::string> ids;
  for (const Machine& m : change.machines) ids.push_back(m.machine_id);
  return ids;
}

void CheckAnswered(const json& answer, size_t expected, const std::string& what) {
  if (!answer.contains("requests") || answer["requests"].size() != expected) {
    Fail(what + ": answer does not list every request");
  }
  // Moto makes every instance running at once: anything but complete means
  // the poll did not get its answer from the cloud (a timeout, say).
  for (const json& r : answer["requests"]) {
    if (r.value("status", "") != "complete") Fail(what + ": " + r.dump().substr(0, 500));
  }
}

/// One measured poll: `reset` is put back into the store, the status script
/// names every request of `input` (`named` of them), and its floor is the
/// script floor plus one raw DescribeInstances of `floor_ids` through
/// `ec2`. `after_poll`, if set, runs between the poll and its floor.
/// Returns the raw DescribeInstances time.
double MeasurePoll(ProviderDir& dir, Store& store, RawEc2& ec2, const StoreChange& reset,
                   const json& input, size_t named, const std::vector<std::string>& floor_ids,
                   Row* row, const std::function<void()>& after_poll = nullptr) {
  Check(store.Commit(reset), "resetting the scale store");
  OhfpRun run = RunOhfp(dir.Script("getRequestStatus", input), row->name);
  CheckAnswered(run.answer, named, row->name);
  Record(run, row);
  if (after_poll) after_poll();
  ProcessCost exec_floor = MeasureProcess(dir.FloorScript(input));
  double raw = Check(ec2.DescribeInstances(floor_ids), "raw DescribeInstances");
  row->floor_ms.Add(exec_floor.wall_ms + raw);
  return raw;
}

// The row of a first poll naming every request of `p`; `name` ends its name.
Row FirstPollRow(const ScalePoint& p, const std::string& name) {
  Row row = MakeRow("scale", "getRequestStatus.sh " + std::to_string(p.requests) + " x " +
                                 std::to_string(p.machines) + name);
  row.floor_name = "script exec /bin/true + raw DescribeInstances of all ids";
  row.extra = {{"requests", p.requests},
               {"machines_per_request", p.machines},
               {"machines", p.requests * p.machines},
               {"aws_call_bound", (p.requests * p.machines + 999) / 1000}};
  return row;
}

int RepsFor(const BenchOptions& options, int machines) {
  // Moto renders ~5 ms per instance described, so a poll of 10,000 machines
  // takes about a minute, and so does its floor: few repetitions there.
  if (options.quick) return 2;
  if (machines >= 10000) return 1;
  if (machines >= 1000) return 3;
  if (machines >= 100) return 5;
  return options.reps;
}

}  // namespace

// The points moto cannot serve, measured like the others on a stand-in EC2
// that answers at once (BENCH ONLY: stand_in_ec2.h), with the calls ohfp had
// in flight at once.
void BenchScaleOnStandIn(const BenchOptions& options, Report* report) {
  const std::vector<ScalePoint> points = options.quick
                                             ? std::vector<ScalePoint>{{10, 2}}
                                             : std::vector<ScalePoint>{{1000, 1}, {1000, 10}};
  const int reps = options.quick ? 2 : 5;
  auto ec2 = Check(StandInEc2::Start(), "starting the stand-in EC2");
  const CloudEndpoint cloud{ec2->endpoint(), ec2->region(), ec2->credentials()};
  RawEc2 raw(cloud.url, cloud.region, cloud.credentials);
  const devenv::Network network = ec2->network();
  const std::string template_id = ProviderDir::TemplateId(ApiCases().front().api);

  for (const ScalePoint& p : points) {
    std::string label = std::to_string(p.requests) + " x " + std::to_string(p.machines);
    Progress("scale: getRequestStatus " + label + " (stand-in EC2)");
    // One launch per request, tagged as ohfp tags its own, so each request
    // has a reservation of its own, as on EC2.
    std::vector<std::string> launched;
    for (int k = 0; k < p.requests; ++k) {
      aws::RunInstancesInput in;
      in.image_id = kBenchImageId;
      in.instance_type = kBenchInstanceType;
      in.min_count = in.max_count = p.machines;
      in.subnet_id = network.subnet_id;
      in.security_group_ids = {network.security_group_id};
      in.client_token = "req-scale-" + std::to_string(k);
      in.tags = {{kRequestIdTag, in.client_token},
                 {kTemplateIdTag, template_id},
                 {kManagedByTag, kManagedByValue},
                 {"cluster", "bench"}};
      std::vector<std::string> ids = ec2->Launch(in);
      launched.insert(launched.end(), ids.begin(), ids.end());
    }

    ProviderDir dir(options.work_dir + "/scale-stand-in", cloud, network, "sqlite", ProviderApis(),
                    options.binary_dir, options.source_dir);
    auto store = Check(OpenStore(dir.store_options()), "opening the stand-in scale store");
    const int64_t now = SystemClock().NowSeconds();
    StoreChange state = Outstanding("req-scale-", p.requests, p.machines, launched, now);
    json input = StatusInput(state);
    std::vector<std::string> ids = MachineIds(state);

    Row row = FirstPollRow(p, " (stand-in EC2)");
    row.extra["ec2"] = "stand-in, answers at once";
    // Read after the poll and before its floor, whose calls go one by one.
    int64_t max_in_flight = 0;
    auto read_counts = [&] {
      max_in_flight = std::max(max_in_flight, ec2->counts().max_in_flight);
    };
    Samples raw_only;
    for (int rep = 0; rep < reps; ++rep) {
      ec2->ResetCounts();
      raw_only.Add(MeasurePoll(dir, *store, raw, state, input, state.requests.size(), ids, &row,
                               read_counts));
    }
    row.extra["raw_describe_ms_p50"] = raw_only.Median();
    row.extra["max_in_flight"] = max_in_flight;
    report->AddRow(std::move(row));
  }
}

void BenchScale(const BenchOptions& options, MotoFixture& moto, Report* report) {
  // Smallest first: instances are launched as the points need them, so a
  // small point is measured against a small moto (which scans every
  // instance it holds on each DescribeInstances).
  std::vector<ScalePoint> points;
  if (options.quick) {
    points = {{1, 1}, {10, 1}, {1, 2}, {10, 2}};
  } else {
    // 1,000 x 10 is left out: moto holding 10,000 instances takes ~55 s
    // for one DescribeInstances of 1,000 ids, past the client's 30 s
    // per-attempt timeout (a poll would take ~9 minutes of moto's time).
    // BenchScaleOnStandIn measures it on a stand-in EC2 instead.
    points = {{1, 1}, {10, 1}, {1, 10}, {10, 10}, {100, 1}, {200, 1}, {100, 10}, {1000, 1}};
  }
  int largest_single = 0;  // the most requests of one machine each
  for (const ScalePoint& p : points) {
    if (p.machines == 1) largest_single = std::max(largest_single, p.requests);
  }

  // The bench network's /24 subnet holds 251 hosts; these need a bigger one.
  devenv::Network network = moto.network;
  network.subnet_id = Check(CreateSubnet(moto, "10.0.128.0/17"), "creating a /17 subnet");
  const ApiCase& api = ApiCases().front();
  std::vector<std::string> launched;

  for (const ScalePoint& p : points) {
    std::string label = std::to_string(p.requests) + " x " + std::to_string(p.machines);
    // Launched kLaunchBatch at a time: moto takes ~10 ms per instance, and
    // a call must end within the 30 s request timeout.
    const int needed = p.requests * p.machines;
    if (static_cast<int>(launched.size()) < needed) {
      Progress("scale: launching up to " + std::to_string(needed) + " instances in moto");
    }
    while (static_cast<int>(launched.size()) < needed) {
      int count = std::min(kLaunchBatch, needed - static_cast<int>(launched.size()));
      Check(api.raw_launch(*moto.raw, network, count, &launched), "RunInstances");
    }
    Progress("scale: getRequestStatus " + label);
    ProviderDir dir(options.work_dir + "/scale", *moto.server, network, "sqlite", ProviderApis(),
                    options.binary_dir, options.source_dir);
    auto store = Check(OpenStore(dir.store_options()), "opening the scale store");
    const int64_t now = SystemClock().NowSeconds();
    StoreChange state = Outstanding("req-scale-", p.requests, p.machines, launched, now);
    json input = StatusInput(state);
    std::vector<std::string> ids = MachineIds(state);

    Row row = FirstPollRow(p, "");
    const int bound = row.extra["aws_call_bound"].get<int>();
    Samples raw_only;
    for (int rep = 0; rep < RepsFor(options, p.requests * p.machines); ++rep) {
      raw_only.Add(
          MeasurePoll(dir, *store, *moto.raw, state, input, state.requests.size(), ids, &row));
    }
    row.extra["raw_describe_ms_p50"] = raw_only.Median();
    report->AddRow(std::move(row));

    if (p.machines == 1 && p.requests == largest_single) {
      // The same requests, now all final, with one of them outstanding
      // again: finished requests must cost no cloud call.
      Row mixed = MakeRow(
          "scale", "getRequestStatus.sh " + std::to_string(p.requests) + " named, 1 outstanding");
      mixed.floor_name = "script exec /bin/true + raw DescribeInstances of 1 id";
      mixed.extra = {{"requests", p.requests}, {"outstanding", 1}, {"aws_call_bound", 1}};
      StoreChange one = Outstanding("req-scale-", 1, 1, launched, now);
      for (int rep = 0; rep < RepsFor(options, 100); ++rep) {
        MeasurePoll(dir, *store, *moto.raw, one, input, state.requests.size(), MachineIds(one),
                    &mixed);
      }
      report->AddRow(std::move(mixed));

      // Once every 600 s per store a poll, after its answer, also looks for
      // instances no request owns: one DescribeInstances by tag filter per
      // 1,000 instances in the region. Measured once, on a first poll.
      Row check = MakeRow("scale", "getRequestStatus.sh " + label + " + stray check");
      check.floor_name = "script exec /bin/true + raw DescribeInstances of all ids";
      const int in_region = (static_cast<int>(launched.size()) + 999) / 1000;
      check.extra = {{"requests", p.requests},
                     {"machines", p.requests * p.machines},
                     {"aws_call_bound", bound + in_region},
                     {"aws_call_rule", "machines / 1000 + instances in moto / 1000"}};
      dir.HoldStrayCheck(false);
      MeasurePoll(dir, *store, *moto.raw, state, input, state.requests.size(), ids, &check);
      dir.HoldStrayCheck(true);
      report->AddRow(std::move(check));
    }
  }
}

}  // namespace ohfp::bench
