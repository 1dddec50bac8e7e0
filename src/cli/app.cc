#include "cli/app.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/logging.h"
#include "cli/migrate.h"
#include "config/provider_config.h"
#include "config/template.h"
#include "contract/command.h"
#include "contract/output.h"
#include "core/clock.h"
#include "provider/aws_session.h"
#include "service/service.h"
#include "store/store.h"
#include "store/store_files.h"

namespace ohfp {

namespace {

using json = nlohmann::json;

struct Options {
  std::string command;
  std::string data;
  std::string file;
  std::string config_path;
  std::string log_level;
  std::string provider_api;
  bool all = false;
  bool long_form = false;
  bool clean = false;
  bool hostfactory = false;
  bool stats = false;
  bool active_only = false;
  bool return_only = false;
  std::vector<std::string> args;         // positional
  std::vector<std::string> request_ids;  // --request-id
  MigrateOptions migrate;
};

/// Everything one call prints goes through here: one document, one newline.
void Print(const json& document) {
  std::string text = document.dump(2, ' ', false, json::error_handler_t::replace);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

int PrintError(const Status& status, const std::string& request_id, const Clock& clock) {
  spdlog::error("{}{}", request_id.empty() ? "" : request_id + " ", status.ToString());
  Print(FormatError(status, request_id, clock.NowSeconds()));
  return ExitCodeFor(status.code());
}

Result<std::string> ReadInputFile(const std::string& path) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::InvalidRequest("cannot read input file " + path + ": " + std::strerror(errno));
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxInputBytes) break;  // ParseInputText reports it
  }
  bool failed = std::ferror(f) != 0;
  if (f != stdin) std::fclose(f);
  if (failed) return Status::InvalidRequest("cannot read input file " + path);
  return text;
}

json MachineRefsJson(const std::vector<std::string>& args) {
  json machines = json::array();
  for (const auto& a : args) {
    machines.push_back(a.rfind("i-", 0) == 0 ? json{{"machineId", a}} : json{{"name", a}});
  }
  return {{"machines", machines}};
}

/// Builds the input document from command-line arguments.
Result<json> InputFromArguments(Verb verb, const Options& o) {
  switch (verb) {
    case Verb::kRequestMachines: {
      if (o.args.size() > 2) return Status::InvalidRequest("requestMachines takes TEMPLATE COUNT");
      json t = {{"templateId", o.args[0]}};
      if (o.args.size() == 2) {
        const std::string& c = o.args[1];
        char* end = nullptr;
        errno = 0;
        long long n = std::strtoll(c.c_str(), &end, 10);
        if (c.empty() || *end != '\0' || errno == ERANGE) {
          return Status::InvalidRequest("machine count '" + c + "' is not a whole number");
        }
        t["machineCount"] = n;
      }
      return json{{"template", t}};
    }
    case Verb::kGetRequestStatus: {
      json requests = json::array();
      for (const auto& id : o.request_ids) requests.push_back({{"requestId", id}});
      for (const auto& id : o.args) requests.push_back({{"requestId", id}});
      return json{{"requests", requests}};
    }
    case Verb::kRequestReturnMachines:
    case Verb::kGetReturnRequests:
      return MachineRefsJson(o.args);
    case Verb::kGetAvailableTemplates:
    case Verb::kReconcile:
      return Status::InvalidRequest(std::string(VerbName(verb)) + " takes no arguments");
  }
  return json::object();
}

/// The input document, from --data, --file, arguments or standard input, in
/// that order of preference.
Result<json> GatherInput(Verb verb, const Options& o) {
  bool has_args = !o.args.empty() || !o.request_ids.empty();
  if ((!o.data.empty() || !o.file.empty()) && has_args) {
    return Status::InvalidRequest("give the input either as arguments or as --data/--file");
  }
  if (!o.data.empty()) return ParseInputText(o.data);
  if (!o.file.empty()) {
    auto text = ReadInputFile(o.file);
    if (!text.ok()) return text.status();
    return ParseInputText(*text);
  }
  if (has_args) return InputFromArguments(verb, o);
  // Host Factory always passes -f; standard input is for people and pipes,
  // and never read from a terminal or for a verb that ignores its input.
  if (verb != Verb::kGetAvailableTemplates && verb != Verb::kReconcile && !::isatty(STDIN_FILENO)) {
    auto text = ReadInputFile("-");
    if (!text.ok()) return text.status();
    bool blank = text->find_first_not_of(" \t\r\n") == std::string::npos;
    if (!blank) return ParseInputText(*text);
  }
  // No input at all: a status call names no request (the caller decides
  // whether that means --all or a usage error); the others take {}.
  if (verb == Verb::kGetRequestStatus) return json{{"requests", json::array()}};
  return json::object();
}

void AddCommonOptions(CLI::App& app, Options& o) {
  app.add_option("-d,--data", o.data, "Input JSON given inline");
  app.add_option("-f,--file", o.file, "Input JSON file ('-' for standard input)");
  app.add_option("--config", o.config_path, "config.json to use instead of <confdir>/config.json");
  app.add_option("--log-level", o.log_level, "TRACE, DEBUG, INFO, WARN or ERROR");
  app.add_flag("--all", o.all, "Include what is normally left out (see README)");
  app.add_flag("--long", o.long_form, "Every field ohfp holds");
  app.add_flag("--clean", o.clean, "Drop empty and null fields from the answer");
  app.add_flag("--hostfactory", o.hostfactory,
               "Answer in the Host Factory camelCase format (what the scripts use)");
  app.add_flag("--stats", o.stats, "Print time and AWS call statistics to stderr");
}

// How often a Host Factory status poll also looks for stray instances.
constexpr int64_t kReconcileEverySec = 600;

/// True, and `stamp` touched, when no process claimed this run in the last
/// `every_sec` seconds; one process wins when several poll at once.
bool ClaimPeriodicRun(const std::string& stamp, int64_t every_sec) {
  struct stat st;
  const time_t now = ::time(nullptr);
  if (::stat(stamp.c_str(), &st) == 0 && now - st.st_mtime < every_sec) return false;
  int fd = ::open(stamp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool won = ::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::fstat(fd, &st) == 0 &&
             (st.st_size == 0 || now - st.st_mtime >= every_sec);
  // Writing a byte moves the mtime on; a zero size marks a stamp never used.
  if (won) won = ::pwrite(fd, "x", 1, 0) == 1;
  ::close(fd);
  return won;
}

struct Stats {
  int64_t start_ms = 0;
  int64_t start_us = 0;
  aws::ClientStats aws;  // copied when the cloud session ends
};

// The most memory this program has held resident (VmHWM), in KiB; -1 where
// /proc cannot tell. Unlike getrusage's ru_maxrss it leaves out the process
// that ran us: a forked child counts its parent's pages until it execs.
int64_t PeakRssKib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

void ReportStats(const Options& o, const Stats& stats, const Clock& clock) {
  // Reading /proc costs every call something; only a reader pays for it.
  if (!o.stats && !spdlog::should_log(spdlog::level::debug)) return;
  const double ms_per_us = 1e-3;
  int64_t wall_us = clock.MonotonicMicros() - stats.start_us;
  const aws::ClientStats& a = stats.aws;
  std::string line = fmt::format(
      "stats: command={} wall_ms={:.3f} aws_calls={} aws_attempts={} aws_retries={} "
      "aws_http_ms={:.3f} own_ms={:.3f} peak_rss_kib={}",
      o.command, wall_us * ms_per_us, a.calls, a.attempts, a.retries, a.http_micros * ms_per_us,
      (wall_us - a.http_micros) * ms_per_us, PeakRssKib());
  spdlog::debug("{}", line);
  if (o.stats) std::fprintf(stderr, "ohfp %s\n", line.c_str());
}

int Dispatch(Verb verb, const Options& o, const Command& cmd, Service& service,
             const OutputOptions& out, const Clock& clock);

int RunVerb(Verb verb, const Options& o, const Clock& clock, Stats* stats) {
  auto input = GatherInput(verb, o);
  if (!input.ok()) return PrintError(input.status(), "", clock);
  auto command = ParseCommand(verb, *input);
  if (!command.ok()) return PrintError(command.status(), "", clock);

  auto env = CurrentEnvironment();
  Directories dirs = ResolveDirectories(env);
  auto config = LoadProviderConfig(dirs, o.config_path, env);
  if (!config.ok()) return PrintError(config.status(), "", clock);

  LogSetup log;
  log.level = NormalizeLogLevel(o.log_level);
  if (!o.log_level.empty() && log.level.empty()) {
    return PrintError(Status::InvalidRequest("unknown log level '" + o.log_level + "'"), "", clock);
  }
  // People at a shell see warnings; Host Factory's stderr stays empty.
  log.to_stderr = !o.hostfactory;
  SetUpLogging(config->logging, dirs, log);
  spdlog::debug("{} started (confdir={}, workdir={})", VerbName(verb), dirs.confdir, dirs.workdir);

  // Templates matter to these two verbs, which fail without them. The others
  // read them only to relaunch an interrupted acquisition, and still answer
  // from the store when the template file is broken.
  TemplateSet templates;
  bool templates_loaded = false;
  auto load_templates = [&]() -> Status {
    templates_loaded = true;
    auto loaded = LoadTemplates(dirs.confdir, dirs.provider_name);
    if (!loaded.ok()) return loaded.status();
    templates = std::move(*loaded);
    for (const auto& why : templates.rejected) spdlog::warn("template left out: {}", why);
    return Status();
  };
  if (verb == Verb::kGetAvailableTemplates || verb == Verb::kRequestMachines) {
    Status s = load_templates();
    if (!s.ok()) return PrintError(s, "", clock);
  }
  TemplateSource template_source = [&]() -> const TemplateSet* {
    if (!templates_loaded) {
      Status s = load_templates();
      if (!s.ok()) spdlog::warn("templates not loaded: {}", s.ToString());
    }
    return &templates;
  };

  StoreOptions store_options;
  store_options.type = config->storage.strategy;
  store_options.path = config->storage.path;
  auto store = OpenStore(store_options);
  if (!store.ok()) return PrintError(store.status(), "", clock);

  // The cloud is set up on first use, with one deadline for every call this
  // process makes: Host Factory kills a script after its action timeout.
  const int64_t deadline = stats->start_ms + CallBudgetMs(*config);
  std::unique_ptr<AwsSession> session;
  SystemClock session_clock;
  ProviderSource source = [&]() -> Result<Provider*> {
    auto created = AwsSession::Create(*config, dirs, &session_clock, env, deadline);
    if (!created.ok()) return created.status();
    session = std::move(*created);
    return &session->provider();
  };

  ServiceOptions service_options;
  service_options.pending_timeout_sec = config->aws.instance_pending_timeout_sec;
  service_options.orphan_after_sec = config->action_timeout_sec;
  service_options.abandon_after_sec = 4 * config->action_timeout_sec;
  service_options.host_factory = o.hostfactory;
  RandomIdGenerator ids;
  Service service(store->get(), template_source, source, &clock, &ids, service_options);

  OutputOptions out;
  out.format = o.hostfactory ? OutputFormat::kHostFactory : OutputFormat::kDefault;
  out.long_form = o.long_form;
  out.clean = o.clean;
  out.all = o.all;
  out.now = clock.NowSeconds();

  int code = Dispatch(verb, o, *command, service, out, clock);
  if (verb == Verb::kGetRequestStatus && o.hostfactory && code == 0 &&
      ClaimPeriodicRun(ReconcileStampPath(config->storage.path), kReconcileEverySec)) {
    // After the answer is written and flushed, so a failure here cannot
    // change it; the process (and so the script) still ends only after it:
    // one DescribeInstances per 1,000 tagged instances, every 600 s. Strays
    // are only reported here (`ohfp reconcile --clean` ends them).
    auto r = service.Reconcile(/*clean=*/false);
    if (!r.ok()) spdlog::warn("periodic reconcile: {}", r.status().ToString());
    if (r.ok()) spdlog::info("periodic reconcile: {} strays", r->strays.size());
  }
  if (session) stats->aws = session->stats();
  return code;
}

int Dispatch(Verb verb, const Options& o, const Command& cmd, Service& service,
             const OutputOptions& out, const Clock& clock) {
  const Command* command = &cmd;
  switch (verb) {
    case Verb::kGetAvailableTemplates: {
      auto r = service.GetAvailableTemplates(o.provider_api);
      if (!r.ok()) return PrintError(r.status(), "", clock);
      Print(FormatTemplates(*r, out));
      return 0;
    }
    case Verb::kRequestMachines: {
      auto r = service.RequestMachines(command->template_id, command->machine_count);
      if (!r.ok()) return PrintError(r.status(), "", clock);
      Print(FormatAcquireSubmit(*r, out));
      // Host Factory learns a failed launch from getRequestStatus; a person
      // at a shell also gets a provider exit code.
      bool failed = r->request.state == RequestState::kFailed;
      return failed && !o.hostfactory ? ExitCodeFor(ErrorCode::kProviderError) : 0;
    }
    case Verb::kGetRequestStatus: {
      if (command->request_ids.empty() && !o.hostfactory && o.all) {
        auto r = service.GetActiveRequestStatus();
        if (!r.ok()) return PrintError(r.status(), "", clock);
        Print(FormatRequestStatus(*r, out));
        return 0;
      }
      if (command->request_ids.empty() && !o.hostfactory) {
        return PrintError(Status::InvalidRequest("name a request: --request-id ID (or --all)"), "",
                          clock);
      }
      auto r = service.GetRequestStatus(command->request_ids);
      if (!r.ok()) return PrintError(r.status(), "", clock);
      Print(FormatRequestStatus(*r, out));
      return 0;
    }
    case Verb::kRequestReturnMachines: {
      auto r = service.RequestReturnMachines(command->machines);
      if (!r.ok()) return PrintError(r.status(), "", clock);
      Print(FormatReturnSubmit(*r, out));
      return 0;
    }
    case Verb::kGetReturnRequests: {
      if (o.hostfactory || command->machines_given) {
        auto r = service.GetReturnRequests(command->machines, command->machines_given);
        if (!r.ok()) return PrintError(r.status(), "", clock);
        Print(FormatReclaims(*r, out));
        return 0;
      }
      auto r = service.ListReturnRequests(o.active_only, o.all ? 0 : 100);
      if (!r.ok()) return PrintError(r.status(), "", clock);
      std::vector<Request> list;
      for (auto& q : *r) {
        if (o.return_only && q.machine_ids.empty()) continue;
        list.push_back(std::move(q));
      }
      Print(FormatReturnRequestList(list, out));
      return 0;
    }
    case Verb::kReconcile: {
      auto r = service.Reconcile(o.clean);
      if (!r.ok()) return PrintError(r.status(), "", clock);
      Print(FormatReconcile(*r, out));
      return 0;
    }
  }
  return 0;
}

}  // namespace

int RunApp(int argc, char** argv) {
  // State and log files hold host names and request history: owner only.
  ::umask(077);
  // spdlog's own default logger writes to stdout, which belongs to the
  // answer: replace it before anything can log.
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("ohfp", std::make_shared<spdlog::sinks::null_sink_mt>()));
  SystemClock clock;
  Stats stats;
  stats.start_ms = clock.MonotonicMillis();
  stats.start_us = clock.MonotonicMicros();

  Options o;
  CLI::App app{"ohfp: the Open Host Factory Plugin for IBM Spectrum Symphony on AWS EC2", "ohfp"};
  app.set_version_flag("--version", std::string("ohfp ") + OHFP_VERSION);
  app.require_subcommand(1);
  AddCommonOptions(app, o);

  // Building CLI11's tree of every verb and its options cost a tenth of a
  // getAvailableTemplates. The scripts name the verb first, so such a call
  // gets only its own subcommand; help, --version and mistakes see them all.
  const std::string first = argc > 1 ? argv[1] : "";
  const char* const kSubcommands[] = {
      "getAvailableTemplates", "requestMachines",   "getRequestStatus", "requestReturnMachines",
      "getReturnRequests",     "migrateRepository", "reconcile"};
  const bool verb_first =
      std::find(std::begin(kSubcommands), std::end(kSubcommands), first) != std::end(kSubcommands);
  auto wanted = [&](const char* verb) { return !verb_first || first == verb; };

  if (wanted("getAvailableTemplates")) {
    auto* templates = app.add_subcommand("getAvailableTemplates", "List the host templates");
    templates->add_option("--provider-api", o.provider_api, "Only templates of this API");
  }
  if (wanted("requestMachines")) {
    auto* request = app.add_subcommand("requestMachines", "Ask for hosts: TEMPLATE COUNT");
    request->add_option("args", o.args, "template id and machine count");
  }
  if (wanted("getRequestStatus")) {
    auto* status = app.add_subcommand("getRequestStatus", "Status of requests");
    status->add_option("--request-id,-r", o.request_ids, "A request id (repeatable)");
    status->add_option("args", o.args, "request ids");
  }
  if (wanted("requestReturnMachines")) {
    auto* give_back = app.add_subcommand("requestReturnMachines", "Give hosts back: MACHINE...");
    give_back->add_option("args", o.args, "machine ids (i-…) or host names");
  }
  if (wanted("getReturnRequests")) {
    auto* returns = app.add_subcommand("getReturnRequests", "Return requests / reclaimed hosts");
    returns->add_flag("--active-only", o.active_only, "Only return requests not yet complete");
    returns->add_flag("--return-only", o.return_only, "Leave out returns that named no host");
    returns->add_option("args", o.args, "hosts to check for reclaims");
  }
  CLI::App* migrate = nullptr;  // stays null when another verb was named
  if (wanted("migrateRepository")) {
    migrate = app.add_subcommand("migrateRepository", "Copy state between store types");
    AddMigrateOptions(*migrate, &o.migrate);
  }
  if (wanted("reconcile")) {
    app.add_subcommand("reconcile",
                       "Find instances with our tags that no request owns (--clean ends them)");
  }
  for (CLI::App* sub : app.get_subcommands({})) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    return 0;
  } catch (const CLI::ParseError& e) {
    return PrintError(Status::InvalidRequest(e.what()), "", clock);
  }
  if (!o.hostfactory) {
    // Until the log file is set up, a person at a shell sees problems.
    auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    err->set_level(spdlog::level::warn);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("ohfp", err));
  }
  CLI::App* chosen = app.get_subcommands().front();
  o.command = chosen->get_name();

  int code;
  if (chosen == migrate) {
    code = RunMigrate(o.migrate, o.config_path, clock);
  } else {
    code = RunVerb(*ParseVerb(o.command), o, clock, &stats);
  }
  ReportStats(o, stats, clock);
  return code;
}

}  // namespace ohfp
