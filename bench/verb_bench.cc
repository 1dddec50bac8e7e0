// Start-up and the five Host Factory verbs, one host per request.

#include <cstdio>
#include <fstream>
#include <map>

#include "cases.h"
#include "provider_dir.h"
#include "sections.h"
#include "store/store.h"

namespace ohfp::bench {
namespace {

using json = nlohmann::json;

enum class Entry { kScript, kCli };

std::string RowName(const VerbCase& verb, const ApiCase& api, Entry entry) {
  std::string name = entry == Entry::kScript ? verb.verb + ".sh" : "ohfp " + verb.verb;
  // Only launches differ between provider APIs; say which when there are several.
  if (ApiCases().size() > 1 && !verb.floor_name.empty()) name += " [" + api.api.name + "]";
  return name;
}

std::vector<std::string> MachineIdsOf(const ProviderDir& dir, const std::string& request_id) {
  auto store = Check(OpenStore(dir.store_options()), "opening the bench store");
  auto machines = Check(store->MachinesOfRequests({request_id}), "reading machines");
  std::vector<std::string> ids;
  for (const Machine& m : machines) ids.push_back(m.machine_id);
  return ids;
}

}  // namespace

void BenchStartup(const BenchOptions& options, Report* report) {
  Progress("start-up");
  const int reps = options.quick ? 3 : options.reps;
  Row true_row = MakeRow("start", "exec /bin/true");
  Row version_row = MakeRow("start", "ohfp --version");
  version_row.floor_name = "exec /bin/true";
  ProcessSpec true_spec{{"/bin/true"}, {}, {}, ""};
  ProcessSpec version_spec{{options.binary_dir + "/ohfp", "--version"}, {}, {}, ""};
  for (int i = 0; i < reps; ++i) {
    ProcessCost floor = MeasureProcess(true_spec);
    ProcessCost version = MeasureProcess(version_spec);
    if (version.exit_code != 0) Fail("ohfp --version failed: " + version.stderr_text);
    Record(floor, &true_row);
    Record(version, &version_row);
    version_row.floor_ms.Add(floor.wall_ms);
  }
  report->AddRow(std::move(true_row));
  report->AddRow(std::move(version_row));

  Row boto = MakeRow("start", "python3 -c 'import boto3'");
  ProcessSpec boto_spec{{"python3", "-c", "import boto3"}, {}, {}, ""};
  const int boto_reps = options.quick ? 1 : std::min(options.reps, 10);
  for (int i = 0; i < boto_reps; ++i) {
    ProcessCost cost = MeasureProcess(boto_spec);
    if (cost.exit_code != 0) {
      report->AddNote("python3 -c 'import boto3' failed (boto3 unavailable): " +
                      cost.stderr_text.substr(0, 200));
      return;
    }
    Record(cost, &boto);
  }
  report->AddRow(std::move(boto));
}

void BenchVerbs(const BenchOptions& options, MotoFixture& moto, Report* report) {
  Progress("verbs");
  ProviderDir dir(options.work_dir + "/verbs", *moto.server, moto.network, "sqlite", ProviderApis(),
                  options.binary_dir, options.source_dir);
  const int reps = options.quick ? 2 : options.reps;

  std::map<std::string, Row> rows;
  std::vector<std::string> order;
  auto row = [&](const std::string& name, const std::string& floor_name) -> Row& {
    auto [it, fresh] = rows.try_emplace(name);
    if (fresh) {
      order.push_back(name);
      it->second.section = name.rfind("ohfp ", 0) == 0 ? "cli" : "verb";
      it->second.name = name;
      it->second.floor_name = floor_name;
    }
    return it->second;
  };

  for (int rep = 0; rep < reps; ++rep) {
    for (Entry entry : {Entry::kScript, Entry::kCli}) {
      // The floor of starting anything: measured once per cycle, next to it.
      ProcessCost exec_floor =
          MeasureProcess(entry == Entry::kScript ? dir.FloorScript(json::object())
                                                 : ProcessSpec{{"/bin/true"}, {}, {}, ""});
      const std::string exec_name =
          entry == Entry::kScript ? "script exec /bin/true" : "exec /bin/true";
      for (const ApiCase& api : ApiCases()) {
        Cycle cycle;
        cycle.api = &api;
        for (const VerbCase& verb : VerbCases()) {
          std::string name = RowName(verb, api, entry);
          std::string floor_name =
              exec_name + (verb.floor_name.empty() ? "" : " + raw " + verb.floor_name);
          ProcessSpec spec;
          if (entry == Entry::kScript) {
            spec = dir.Script(verb.verb, verb.input(cycle));
          } else {
            std::vector<std::string> args = {verb.verb};
            for (const std::string& a : verb.args(cycle)) args.push_back(a);
            spec = dir.Cli(args);
          }
          OhfpRun run = RunOhfp(spec, name);
          Row& r = row(name, floor_name);
          Record(run, &r);
          if (verb.absorb) verb.absorb(run.answer, &cycle);
          if (!cycle.request_id.empty() && cycle.machine_ids.empty()) {
            cycle.machine_ids = MachineIdsOf(dir, cycle.request_id);
          }
          double raw_ms = 0;
          if (verb.floor)
            raw_ms = Check(verb.floor(*moto.raw, moto.network, &cycle), verb.floor_name);
          r.floor_ms.Add(exec_floor.wall_ms + raw_ms);
        }
      }
    }
  }
  for (const std::string& name : order) {
    if (name.rfind("ohfp ", 0) != 0) report->AddRow(std::move(rows[name]));
  }
  for (const std::string& name : order) {
    if (name.rfind("ohfp ", 0) == 0) report->AddRow(std::move(rows[name]));
  }
}

void ProfileVerb(const BenchOptions& options, MotoFixture& moto, const std::string& verb_name,
                 Report* report) {
  Progress("callgrind: " + verb_name);
  ProviderDir dir(options.work_dir + "/profile", *moto.server, moto.network, "sqlite",
                  ProviderApis(), options.binary_dir, options.source_dir);
  const std::string profile = options.out_dir + "/callgrind." + verb_name + ".out";
  Cycle cycle;
  cycle.api = &ApiCases().front();
  bool found = false;
  for (const VerbCase& verb : VerbCases()) {
    bool target = verb.verb == verb_name;
    json input = verb.input(cycle);
    ProcessSpec spec =
        target ? dir.Profiled(verb.verb, input, profile) : dir.Script(verb.verb, input);
    OhfpRun run = RunOhfp(spec, verb.verb);
    if (verb.absorb) verb.absorb(run.answer, &cycle);
    if (!cycle.request_id.empty() && cycle.machine_ids.empty()) {
      cycle.machine_ids = MachineIdsOf(dir, cycle.request_id);
    }
    if (target) {
      found = true;
      break;
    }
  }
  if (!found) Fail("--profile: no verb named " + verb_name);

  std::string top;
  if (std::FILE* p = ::popen(
          ("callgrind_annotate --inclusive=yes '" + profile + "' 2>/dev/null").c_str(), "r")) {
    char line[512];
    int kept = 0;
    while (std::fgets(line, sizeof line, p) != nullptr && kept < 60) {
      std::string l = line;
      if (l.find("PROGRAM TOTALS") != std::string::npos || kept > 0) {
        top += l;
        ++kept;
      }
    }
    ::pclose(p);
  }
  std::string text_path = options.out_dir + "/callgrind." + verb_name + ".txt";
  std::ofstream(text_path) << top;
  report->AddNote("callgrind profile of " + verb_name + " (one call, first lines of " + text_path +
                  "): " + top.substr(0, top.find('\n')));
}

}  // namespace ohfp::bench
