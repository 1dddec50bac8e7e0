#include "bench_context.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "aws/credentials.h"
#include "aws/ec2_client.h"
#include "aws/socket_transport.h"
#include "aws/xml.h"

namespace ohfp::bench {
namespace {

// The number after "<key>=" in `line`, or -1.
double StatsField(const std::string& line, const std::string& key) {
  size_t at = line.find(" " + key + "=");
  if (at == std::string::npos) return -1;
  return std::strtod(line.c_str() + at + key.size() + 2, nullptr);
}

}  // namespace

namespace {
bool in_child = false;  // set in RunInChild's child, which shares no clean-up
}  // namespace

void Fail(const std::string& message) {
  std::fprintf(stderr, "bench: FAILED: %s\n", message.c_str());
  if (in_child) {
    std::fflush(nullptr);
    ::_exit(1);
  }
  throw BenchFailure(message);
}

void RunInChild(const std::function<void()>& work, const std::string& what) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    in_child = true;
    work();
    std::fflush(nullptr);
    ::_exit(0);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    Fail(what + " failed in its child process");
  }
}

void Progress(const std::string& message) {
  std::time_t now = std::time(nullptr);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&now));
  std::fprintf(stderr, "bench %s %s\n", stamp, message.c_str());
}

void Check(const Status& status, const std::string& what) {
  if (!status.ok()) Fail(what + ": " + status.ToString());
}

MotoFixture StartMoto(const BenchOptions& options, const std::string& name) {
  // Moto checks every instance it launches against its catalogue of ~1,200
  // AMIs, a linear scan that is half its launch cost. The bench templates
  // name their AMI directly, so moto gets an empty catalogue: launching
  // 10,000 instances for the scale section then takes half as long.
  std::string amis = options.out_dir + "/moto-amis.json";
  std::ofstream(amis) << "[]\n";
  ::setenv("MOTO_AMIS_PATH", amis.c_str(), 1);

  devenv::MotoOptions moto;
  moto.signature_checking = true;
  moto.log_path = options.out_dir + "/moto-" + name + ".log";
  MotoFixture fixture;
  fixture.server = Check(devenv::MotoServer::Start(moto), "starting moto_server");

  aws::SocketTransport transport;
  aws::StaticCredentials credentials(fixture.server->credentials());
  SystemClock clock;
  aws::ClientOptions client_options;
  client_options.region = fixture.server->region();
  client_options.endpoint_url = fixture.server->endpoint();
  aws::AwsClient client(client_options, &transport, &credentials, &clock);
  fixture.network = Check(devenv::CreateNetwork(client), "creating the moto network");
  fixture.raw = std::make_unique<RawEc2>(fixture.server->endpoint(), fixture.server->region(),
                                         fixture.server->credentials());
  return fixture;
}

Result<std::string> CreateSubnet(MotoFixture& moto, const std::string& cidr) {
  aws::SocketTransport transport;
  aws::StaticCredentials credentials(moto.server->credentials());
  SystemClock clock;
  aws::ClientOptions options;
  options.region = moto.server->region();
  options.endpoint_url = moto.server->endpoint();
  aws::AwsClient client(options, &transport, &credentials, &clock);
  Result<std::string> answer = client.CallQuery("ec2", "CreateSubnet", aws::kEc2ApiVersion,
                                                {{"VpcId", moto.network.vpc_id},
                                                 {"CidrBlock", cidr},
                                                 {"AvailabilityZone", options.region + "a"}});
  if (!answer.ok()) return answer.status();
  pugi::xml_document doc;
  OHFP_RETURN_IF_ERROR(aws::ParseXml(*answer, &doc));
  std::string id = aws::ChildText(aws::FindFirst(doc, "subnet"), "subnetId");
  if (id.empty()) return Status::Internal("CreateSubnet answered without a subnet id");
  return id;
}

OhfpRun RunOhfp(const ProcessSpec& spec, const std::string& what) {
  OhfpRun run;
  run.cost = MeasureProcess(spec);
  auto describe = [&] {
    return what + " (exit " + std::to_string(run.cost.exit_code) +
           ")\nstdout: " + run.cost.stdout_text.substr(0, 2000) +
           "\nstderr: " + run.cost.stderr_text.substr(0, 2000);
  };
  run.answer = nlohmann::json::parse(run.cost.stdout_text, nullptr, false);
  if (run.cost.exit_code != 0 || run.answer.is_discarded() ||
      (run.answer.is_object() && run.answer.contains("error"))) {
    Fail(describe());
  }
  size_t stats = run.cost.stderr_text.rfind("stats: ");
  if (stats == std::string::npos) Fail("no --stats line from " + describe());
  std::string line = run.cost.stderr_text.substr(stats);
  line = line.substr(0, line.find('\n'));
  run.aws_calls = static_cast<int64_t>(StatsField(line, "aws_calls"));
  run.aws_http_ms = StatsField(line, "aws_http_ms");
  run.peak_rss_kib = static_cast<int64_t>(StatsField(line, "peak_rss_kib"));
  if (run.aws_calls < 0 || run.aws_http_ms < 0 || run.peak_rss_kib <= 0) {
    Fail("unreadable --stats line: " + line);
  }
  return run;
}

void Record(const ProcessCost& cost, Row* row) {
  row->wall_ms.Add(cost.wall_ms);
  row->cpu_ms.Add(cost.cpu_ms);
  row->max_rss_kib = std::max(row->max_rss_kib, cost.max_rss_kib);
}

void Record(const OhfpRun& run, Row* row) {
  // Not wait4's ru_maxrss: a forked child counts the pages it shares with
  // the bench until it execs, so a bench holding a stand-in EC2 of 10,000
  // instances made every call it ran look as large as itself.
  ProcessCost cost = run.cost;
  cost.max_rss_kib = run.peak_rss_kib;
  Record(cost, row);
  row->aws_calls.Add(static_cast<double>(run.aws_calls));
  // Measured from outside the process, so start-up and the script's shells
  // count as our own time too.
  row->own_ms.Add(run.cost.wall_ms - run.aws_http_ms);
}

}  // namespace ohfp::bench
