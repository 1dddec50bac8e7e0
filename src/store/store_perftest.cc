// Prints the cost of the calls a Host Factory poll makes against stores with
// short and long histories, to compare across commits:
//   store_perftest [history ...]     (default: 1000 100000 for sqlite,
//                                     1000 10000 for json)
// Not a test: it asserts nothing and its figures depend on the machine.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "store/store.h"

namespace ohfp {
namespace {

using Clock = std::chrono::steady_clock;

Request Acquisition(const std::string& id, int64_t created, RequestState state) {
  Request r;
  r.request_id = id;
  r.template_id = "t";
  r.provider_api = "RunInstances";
  r.machine_count = 2;
  r.state = state;
  r.client_token = "tok-" + id;
  r.handles = {{"reservation_ids", {"r-" + id}}};
  r.created_at = created;
  r.updated_at = created;
  return r;
}

Machine Instance(const std::string& id, const std::string& request, const std::string& state) {
  Machine m;
  m.machine_id = id;
  m.name = "ip-" + id + ".ec2.internal";
  m.request_id = request;
  m.template_id = "t";
  m.state = state;
  m.private_ip = "10.0.0.1";
  m.instance_type = "t3.micro";
  m.price_type = "ondemand";
  return m;
}

// History: finished acquisitions with two terminated machines each, written
// in large transactions; then 50 active acquisitions with live machines.
void Populate(Store& store, int history) {
  for (int begin = 0; begin < history; begin += 5000) {
    StoreChange c;
    for (int i = begin; i < std::min(history, begin + 5000); ++i) {
      std::string id = "req-old-" + std::to_string(i);
      c.requests.push_back(Acquisition(id, 1000 + i, RequestState::kComplete));
      for (int k = 0; k < 2; ++k) {
        c.machines.push_back(
            Instance("i-old-" + std::to_string(i) + "-" + std::to_string(k), id, "terminated"));
      }
    }
    if (!store.Commit(c).ok()) std::abort();
  }
  StoreChange live;
  for (int i = 0; i < 50; ++i) {
    std::string id = "req-live-" + std::to_string(i);
    live.requests.push_back(Acquisition(id, 10000000 + i, RequestState::kInProgress));
    live.machines.push_back(Instance("i-live-" + std::to_string(i), id, "running"));
  }
  if (!store.Commit(live).ok()) std::abort();
}

double MillisPerCall(int calls, const std::function<void(int)>& call) {
  auto start = Clock::now();
  for (int i = 0; i < calls; ++i) call(i);
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / calls;
}

void Measure(const std::string& type, int history) {
  std::string dir = "/tmp/ohfp-store-perf-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  StoreOptions o;
  o.type = type;
  o.path = dir + "/state";
  auto opened = OpenStore(o);
  if (!opened.ok()) std::abort();
  Store& store = **opened;
  auto t0 = Clock::now();
  Populate(store, history);
  double fill_s = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<std::string> thousand;
  for (int i = 0; i < 1000; ++i) {
    thousand.push_back(i < 50 ? "req-live-" + std::to_string(i)
                              : "req-old-" + std::to_string((i * 97) % std::max(history, 1)));
  }
  const int n = type == "json" ? 5 : 200;
  std::printf("%-6s history=%-7d fill=%.1fs\n", type.c_str(), history, fill_s);
  auto row = [&](const char* what, double ms) { std::printf("  %-34s %9.3f ms\n", what, ms); };
  row("open", MillisPerCall(n, [&](int) {
        if (!OpenStore(o).ok()) std::abort();
      }));
  row("CreateAcquireRequest (limit)", MillisPerCall(n, [&](int i) {
        auto r = Acquisition("req-new-" + std::to_string(i), 20000000 + i, RequestState::kPending);
        if (!store.CreateAcquireRequest(r, 1000000).ok()) std::abort();
      }));
  row("Commit (1 request + 2 machines)", MillisPerCall(n, [&](int i) {
        std::string id = "req-new-" + std::to_string(i);
        StoreChange c{{Acquisition(id, 20000000 + i, RequestState::kInProgress)},
                      {Instance("i-new-" + std::to_string(i) + "-0", id, "pending"),
                       Instance("i-new-" + std::to_string(i) + "-1", id, "pending")}};
        if (!store.Commit(c).ok()) std::abort();
      }));
  row("GetRequests (1 id)", MillisPerCall(n, [&](int) {
        if (!store.GetRequests({"req-live-7"}).ok()) std::abort();
      }));
  row("GetRequests (1000 ids)", MillisPerCall(n, [&](int) {
        if (!store.GetRequests(thousand).ok()) std::abort();
      }));
  row("MachinesOfRequests (1000 ids)", MillisPerCall(n, [&](int) {
        if (!store.MachinesOfRequests(thousand).ok()) std::abort();
      }));
  row("HeldCount", MillisPerCall(n, [&](int) {
        if (!store.HeldCount("t").ok()) std::abort();
      }));
  row("ListRequests (active)", MillisPerCall(n, [&](int) {
        RequestFilter f;
        f.active_only = true;
        if (!store.ListRequests(f).ok()) std::abort();
      }));
  row("ListLiveMachines", MillisPerCall(n, [&](int) {
        if (!store.ListLiveMachines().ok()) std::abort();
      }));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ohfp

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  for (const char* type : {"sqlite", "json"}) {
    std::vector<int> run = sizes;
    if (run.empty())
      run = std::string(type) == "sqlite" ? std::vector<int>{1000, 100000}
                                          : std::vector<int>{1000, 10000};
    for (int history : run) ohfp::Measure(type, history);
  }
  return 0;
}
