// ohfp-bench: the speed and scale benchmark behind `make bench`. Starts its
// own moto_server (signature checking on), runs the Host Factory scripts and
// the ohfp command line as separate processes the way Host Factory does,
// measures each against its physical floor, and prints one table (also
// written as <out>/bench.json and <out>/bench.txt).
//
//   ohfp-bench [--quick] [--reps N] [--out DIR] [--profile VERB]
//              [--sections start,verbs,scale,stand-in,store]
//
// --quick runs every section at tiny sizes with two repetitions: it proves
// the benchmark works (the smoke test) and its figures mean nothing.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cases.h"
#include "sections.h"

namespace ohfp::bench {
namespace {

namespace fs = std::filesystem;

int Usage() {
  std::fprintf(stderr,
               "usage: ohfp-bench [--quick] [--reps N] [--out DIR] [--profile VERB] "
               "[--sections start,verbs,scale,stand-in,store]\n");
  return 2;
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string CommandOutput(const std::string& command) {
  std::string out;
  if (std::FILE* p = ::popen(command.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

nlohmann::json Meta(const BenchOptions& options) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"date", stamp},
          {"commit",
           CommandOutput("git -C '" + options.source_dir + "' rev-parse --short HEAD 2>/dev/null")},
          {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
          {"loadavg_at_start", ReadFirstLine("/proc/loadavg")},
          {"quick", options.quick},
          {"reps", options.reps},
          {"moto", CommandOutput("python3 -c 'import moto; print(moto.__version__)' 2>/dev/null")}};
}

// Every verb, through its script and the CLI, and every store back end
// must have a row: a case that silently stopped running is a broken bench.
void CheckComplete(const std::set<std::string>& sections, const Report& report) {
  for (const VerbCase& verb : VerbCases()) {
    if (!sections.count("verbs")) break;
    for (const std::string& name : {verb.verb + ".sh", "ohfp " + verb.verb}) {
      const Row* row = report.Find(name);
      if (row == nullptr || row->wall_ms.empty() || row->floor_ms.empty()) {
        Fail("no measurement for " + name);
      }
    }
  }
  for (const std::string& back_end : StoreBackEnds()) {
    if (!sections.count("store")) break;
    bool found = false;
    for (const Row& row : report.rows()) {
      found = found || (row.section == "store" && row.extra.value("back_end", "") == back_end);
    }
    if (!found) Fail("no store measurement for " + back_end);
  }
}

}  // namespace

int Main(int argc, char** argv) {
  BenchOptions options;
  options.binary_dir = fs::canonical("/proc/self/exe").parent_path().string();
  options.source_dir = OHFP_SOURCE_DIR;
  std::set<std::string> sections = {"start", "verbs", "scale", "stand-in", "store"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--quick") {
      options.quick = true;
    } else if (a == "--reps" && has_value) {
      options.reps = std::max(2, std::atoi(argv[++i]));
    } else if (a == "--profile" && has_value) {
      options.profile = argv[++i];
    } else if (a == "--out" && has_value) {
      options.out_dir = argv[++i];
    } else if (a == "--sections" && has_value) {
      sections.clear();
      std::stringstream list(argv[++i]);
      for (std::string s; std::getline(list, s, ',');) sections.insert(s);
    } else {
      return Usage();
    }
  }
  if (options.out_dir.empty()) options.out_dir = options.binary_dir + "/bench";
  fs::create_directories(options.out_dir);
  options.out_dir = fs::canonical(options.out_dir).string();
  options.work_dir =
      (fs::temp_directory_path() / ("ohfp-bench-" + std::to_string(::getpid()))).string();
  fs::create_directories(options.work_dir);
  struct RemoveOnExit {
    std::string dir;
    ~RemoveOnExit() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } scratch{options.work_dir};

  Report report;
  nlohmann::json meta = Meta(options);
  double started = MonotonicMs();
  if (sections.count("start")) BenchStartup(options, &report);
  const bool scale = sections.count("scale") > 0;
  if (sections.count("verbs") || sections.count("store") || !options.profile.empty() ||
      (scale && options.quick)) {
    MotoFixture moto = StartMoto(options, "verbs");
    if (sections.count("verbs")) BenchVerbs(options, moto, &report);
    if (sections.count("store")) BenchStore(options, moto, &report);
    if (!options.profile.empty()) ProfileVerb(options, moto, options.profile, &report);
    // The scale section fills moto with thousands of instances; it gets a
    // server of its own so the other sections never pay for them.
    if (scale && options.quick) BenchScale(options, moto, &report);
  }
  if (scale && !options.quick) {
    MotoFixture moto = StartMoto(options, "scale");
    BenchScale(options, moto, &report);
  }
  // Needs no moto: the stand-in EC2 is its own server.
  if (sections.count("stand-in")) BenchScaleOnStandIn(options, &report);
  CheckComplete(sections, report);
  CheckTargets(options, &report);
  meta["loadavg_at_end"] = ReadFirstLine("/proc/loadavg");
  meta["seconds"] = (MonotonicMs() - started) / 1000.0;
  report.set_meta(meta);

  std::string text = report.Text();
  std::string json_path = options.out_dir + "/bench.json";
  std::ofstream(json_path) << report.Json().dump(2) << "\n";
  std::ofstream(options.out_dir + "/bench.txt") << text;
  std::fputs(text.c_str(), stdout);
  std::printf("\n%d rows in %.0f s; written to %s (and bench.txt)\n",
              static_cast<int>(report.rows().size()), meta["seconds"].get<double>(),
              json_path.c_str());
  return 0;
}

}  // namespace ohfp::bench

int main(int argc, char** argv) {
  try {
    return ohfp::bench::Main(argc, argv);
  } catch (const ohfp::bench::BenchFailure&) {
    return 1;  // Fail has said why; moto and the scratch files are gone
  }
}
