// A new request and the first poll of it, against stores holding 100 …
// 100,000 finished requests, for every store back end. The history is
// written straight through the Store API, shaped like what ohfp leaves
// behind: each finished request with its two terminated machines and their
// frozen snapshot.

#include <sys/stat.h>

#include <algorithm>

#include "cases.h"
#include "provider_dir.h"
#include "sections.h"
#include "store/store.h"

namespace ohfp::bench {
namespace {

using json = nlohmann::json;

constexpr int kMachinesPerOldRequest = 2;
// A point stops repeating once this much time has gone into it (a call on
// a JSON store of 100,000 requests takes ~20 s: it is measured once).
constexpr double kPointBudgetMs = 15000;

json Snapshot(const Machine& m) {
  return {{"machine_id", m.machine_id},
          {"name", m.name},
          {"result", "succeed"},
          {"message", ""},
          {"state", "running"},
          {"state_reason", ""},
          {"private_ip", m.private_ip},
          {"public_ip", ""},
          {"launch_time", m.launch_time},
          {"price_type", m.price_type},
          {"instance_type", m.instance_type},
          {"template_id", m.template_id},
          {"request_id", m.request_id},
          {"return_request_id", ""},
          {"updated_at", m.updated_at}};
}

StoreChange History(int requests, int64_t now) {
  StoreChange change;
  for (int k = 0; k < requests; ++k) {
    Request r;
    r.request_id = "req-old-" + std::to_string(k);
    r.kind = RequestKind::kAcquire;
    r.template_id = "bench-RunInstances";
    r.provider_api = "RunInstances";
    r.machine_count = kMachinesPerOldRequest;
    r.state = RequestState::kComplete;
    r.message = "all instances running";
    r.client_token = r.request_id;
    r.created_at = now - 86400 - requests + k;
    r.updated_at = r.completed_at = r.created_at + 60;
    r.launch_attempts = 1;
    json frozen = json::array();
    for (int i = 0; i < kMachinesPerOldRequest; ++i) {
      Machine m;
      m.machine_id = "i-old" + std::to_string(k) + "x" + std::to_string(i);
      m.name = "ip-10-1-" + std::to_string(k % 250) + "-" + std::to_string(i) + ".ec2.internal";
      m.request_id = r.request_id;
      m.return_request_id = "ret-old-" + std::to_string(k);
      m.template_id = r.template_id;
      m.private_ip = "10.1." + std::to_string(k % 250) + "." + std::to_string(i);
      m.instance_type = kBenchInstanceType;
      m.price_type = "ondemand";
      m.launch_time = r.created_at;
      m.updated_at = r.completed_at;
      frozen.push_back(Snapshot(m));
      m.state = "terminated";
      change.machines.push_back(m);
    }
    r.handles = {{"reservation_ids", {"r-old-" + std::to_string(k)}}, {"final_machines", frozen}};
    change.requests.push_back(r);
  }
  return change;
}

int64_t FileBytes(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

}  // namespace

void BenchStore(const BenchOptions& options, MotoFixture& moto, Report* report) {
  std::vector<int> histories =
      options.quick ? std::vector<int>{100} : std::vector<int>{100, 1000, 10000, 100000};
  const ApiCase& api = ApiCases().front();
  const VerbCase* request_verb = nullptr;
  const VerbCase* status_verb = nullptr;
  for (const VerbCase& v : VerbCases()) {
    if (v.verb == "requestMachines") request_verb = &v;
    if (v.verb == "getRequestStatus") status_verb = &v;
  }

  for (const std::string& back_end : StoreBackEnds()) {
    for (int history : histories) {
      std::string label = back_end + " " + std::to_string(history);
      ProviderDir dir(options.work_dir + "/store", *moto.server, moto.network, back_end,
                      ProviderApis(), options.binary_dir, options.source_dir);
      double started = MonotonicMs();
      RunInChild(
          [&] {
            auto store = Check(OpenStore(dir.store_options()), "opening the " + label + " store");
            Check(store->Commit(History(history, SystemClock().NowSeconds())), "filling " + label);
          },
          "filling the " + label + " store");
      Progress("store " + label + ": filled in " +
               std::to_string(static_cast<int>(MonotonicMs() - started)) + " ms");

      json facts = {{"back_end", back_end},
                    {"history", history},
                    {"store_bytes", FileBytes(dir.store_options().path)}};
      Row request_row = MakeRow("store", "store " + label + ": requestMachines.sh");
      Row status_row = MakeRow("store", "store " + label + ": getRequestStatus.sh");
      request_row.floor_name = "script exec /bin/true + raw " + api.launch_floor_name;
      status_row.floor_name = "script exec /bin/true + raw DescribeInstances";
      request_row.extra = status_row.extra = facts;

      const int max_reps = options.quick ? 2 : std::max(3, options.reps / 3);
      const int min_reps = options.quick ? 2 : 1;
      double spent = 0;
      for (int rep = 0; rep < max_reps && (rep < min_reps || spent < kPointBudgetMs); ++rep) {
        Cycle cycle;
        cycle.api = &api;
        for (auto [verb, row] :
             {std::pair{request_verb, &request_row}, std::pair{status_verb, &status_row}}) {
          json input = verb->input(cycle);
          OhfpRun run = RunOhfp(dir.Script(verb->verb, input), row->name);
          Record(run, row);
          spent += run.cost.wall_ms;
          // The hosts come from the status answer: opening a big JSON store
          // here would grow the bench by gigabytes (see RunInChild).
          verb->absorb(run.answer, &cycle);
          ProcessCost exec_floor = MeasureProcess(dir.FloorScript(input));
          row->floor_ms.Add(exec_floor.wall_ms +
                            Check(verb->floor(*moto.raw, moto.network, &cycle), "floor"));
        }
        // Keep moto small: the floor's instance has done its job.
        if (!cycle.floor_instances.empty()) {
          Check(moto.raw->TerminateInstances(cycle.floor_instances).status(), "terminate");
        }
      }
      report->AddRow(std::move(request_row));
      report->AddRow(std::move(status_row));
    }
  }
}

}  // namespace ohfp::bench
