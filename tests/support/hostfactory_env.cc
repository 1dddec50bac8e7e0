#include "support/hostfactory_env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "aws/aws_client.h"
#include "aws/socket_transport.h"
#include "aws/xml.h"

namespace ohfp::testsupport {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class FixedCredentials : public aws::CredentialsProvider {
 public:
  explicit FixedCredentials(aws::Credentials c) : c_(std::move(c)) {}
  Result<aws::Credentials> Get() override { return c_; }

 private:
  aws::Credentials c_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::atomic<int> counter{0};

aws::AwsClient* NewClient(const SharedMoto& moto, aws::SocketTransport* transport,
                          FixedCredentials* credentials, const Clock* clock) {
  aws::ClientOptions options;
  options.region = moto.server->region();
  options.endpoint_url = moto.server->endpoint();
  return new aws::AwsClient(options, transport, credentials, clock);
}

}  // namespace

std::vector<TaggedInstance> ListTaggedInstances(const SharedMoto& moto) {
  SystemClock clock;
  aws::SocketTransport transport(aws::TransportOptions{{}, moto.ca_bundle});
  FixedCredentials credentials(moto.server->credentials());
  std::unique_ptr<aws::AwsClient> client(NewClient(moto, &transport, &credentials, &clock));
  std::vector<TaggedInstance> out;
  std::string token;
  do {
    aws::QueryParams params = {{"Filter.1.Name", "tag-key"},
                               {"Filter.1.Value.1", "ohfp:request-id"},
                               {"MaxResults", "1000"}};
    if (!token.empty()) params.push_back({"NextToken", token});
    auto body = client->CallQuery("ec2", "DescribeInstances", "2016-11-15", params);
    if (!body.ok()) {
      std::fprintf(stderr, "DescribeInstances: %s\n", body.status().ToString().c_str());
      return out;
    }
    pugi::xml_document doc;
    if (!aws::ParseXml(*body, &doc).ok()) return out;
    pugi::xml_node root = doc.document_element();
    for (const auto& reservation : aws::ListItems(root, "reservationSet")) {
      for (const auto& item : aws::ListItems(reservation, "instancesSet")) {
        TaggedInstance t;
        t.instance_id = aws::ChildText(item, "instanceId");
        t.state = aws::ChildText(item, "instanceState/name");
        for (const auto& tag : aws::ListItems(item, "tagSet")) {
          t.tags[aws::ChildText(tag, "key")] = aws::ChildText(tag, "value");
        }
        t.request_id = t.tags["ohfp:request-id"];
        out.push_back(t);
      }
    }
    token = aws::ChildText(root, "nextToken");
  } while (!token.empty());
  return out;
}

std::optional<aws::Credentials> AssumeTestRole(const SharedMoto& moto,
                                               const std::string& role_name) {
  SystemClock clock;
  aws::SocketTransport transport(aws::TransportOptions{{}, moto.ca_bundle});
  FixedCredentials credentials(moto.server->credentials());
  std::unique_ptr<aws::AwsClient> client(NewClient(moto, &transport, &credentials, &clock));
  auto assumed = devenv::AssumeTestRole(*client, role_name);
  if (!assumed.ok()) {
    std::fprintf(stderr, "AssumeRole: %s\n", assumed.status().ToString().c_str());
    return std::nullopt;
  }
  return *assumed;
}

std::unique_ptr<SharedMoto> StartSharedMoto(devenv::MotoOptions options) {
  options.signature_checking = true;
  // OHFP_TEST_MOTO_LOG_DIR keeps every moto's output (request lines and any
  // traceback behind an HTTP 500), one file per server, to look into a
  // failure that moto caused.
  static std::atomic<int> started{0};
  if (const char* dir = std::getenv("OHFP_TEST_MOTO_LOG_DIR"); dir && options.log_path.empty()) {
    options.log_path = std::string(dir) + "/moto-" + std::to_string(::getpid()) + "-" +
                       std::to_string(started++) + ".log";
  }
  auto server = devenv::MotoServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "moto: %s\n", server.status().ToString().c_str());
    return nullptr;
  }
  auto shared = std::make_unique<SharedMoto>();
  shared->server = std::move(*server);

  SystemClock clock;
  shared->ca_bundle = options.tls_certificate;
  aws::SocketTransport transport(aws::TransportOptions{{}, shared->ca_bundle});
  FixedCredentials credentials(shared->server->credentials());
  aws::ClientOptions client_options;
  client_options.region = shared->server->region();
  client_options.endpoint_url = shared->server->endpoint();
  aws::AwsClient client(client_options, &transport, &credentials, &clock);
  auto network = devenv::CreateNetwork(client);
  if (!network.ok()) {
    std::fprintf(stderr, "network: %s\n", network.status().ToString().c_str());
    return nullptr;
  }
  shared->network = *network;
  return shared;
}

HostFactoryEnv::HostFactoryEnv(const SharedMoto& moto, const EnvOptions& options) {
  root_ = (fs::temp_directory_path() /
           ("ohfp-it-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
              .string();
  fs::remove_all(root_);
  for (const char* sub : {"conf", "work", "logs"}) fs::create_directories(root_ + "/" + sub);
  store_ = options.store;

  const aws::Credentials& key =
      options.credentials ? *options.credentials : moto.server->credentials();
  secret_ = key.secret_access_key;
  secrets_ = {key.access_key_id, key.secret_access_key};
  std::string file = "[default]\naws_access_key_id = " + key.access_key_id +
                     "\naws_secret_access_key = " + key.secret_access_key + "\n";
  if (!key.session_token.empty()) {
    secrets_.push_back(key.session_token);
    file += "aws_session_token = " + key.session_token + "\n";
  }
  WriteFile(confdir() + "/credentials", file);
  ::chmod((confdir() + "/credentials").c_str(), 0600);

  std::string endpoint =
      options.endpoint_override.empty() ? moto.server->endpoint() : options.endpoint_override;
  json config = {{"AWS_REGION", moto.server->region()},
                 {"AWS_ENDPOINT_URL", endpoint},
                 {"AWS_CREDENTIAL_FILE", confdir() + "/credentials"},
                 {"AWS_CONNECTION_TIMEOUT_MS", 2000},
                 {"LOG_LEVEL", options.log_level}};
  config.update(options.provider_config);
  WriteFile(confdir() + "/awsprov_config.json", config.dump(2));

  json storage = options.store == "json"
                     ? json{{"strategy", "json"}, {"json_strategy", {{"base_path", "data"}}}}
                     : json{{"strategy", "sql"}, {"sql_strategy", {{"type", "sqlite"}}}};
  WriteFile(confdir() + "/config.json",
            json{{"storage", storage}, {"logging", {{"level", options.log_level}}}}.dump(2));

  const std::string& subnet = moto.network.subnet_id;
  json templates = json::array();
  templates.push_back({{"templateId", "od-small"},
                       {"maxNumber", options.max_number},
                       {"priceType", "ondemand"},
                       {"attributes", {{"type", "X86_64"}, {"ncpus", 1}, {"nram", 1024}}},
                       {"imageId",
                        "/aws/service/ami-amazon-linux-latest/"
                        "al2023-ami-kernel-6.1-x86_64"},
                       {"vmType", "t3.micro"},
                       {"subnetId", subnet},
                       {"securityGroupIds", {moto.network.security_group_id}},
                       {"instanceTags", "cluster=test;owner=ohfp"}});
  templates.push_back({{"templateId", "spot-small"},
                       {"maxNumber", options.max_number},
                       {"priceType", "spot"},
                       {"providerApi", "RunInstances"},
                       {"attributes",
                        {{"type", {"String", "X86_64"}},
                         {"ncpus", {"Numeric", "2"}},
                         {"nram", {"Numeric", "4096"}}}},
                       {"imageId", "ami-0ed094fb1304fd857"},
                       {"vmType", "c5.large"},
                       {"subnetId", subnet}});
  templates.push_back({{"templateId", "broken"}, {"maxNumber", 20000}});
  WriteFile(confdir() + "/awsprov_templates.json", json{{"templates", templates}}.dump(2));

  env_ = {{"HF_PROVIDER_NAME", "awsinst"},
          {"HF_PROVIDER_CONFDIR", confdir()},
          {"HF_PROVIDER_WORKDIR", workdir()},
          {"HF_PROVIDER_LOGDIR", logdir()},
          {"HF_PROVIDER_ACTION_TIMEOUT", std::to_string(options.action_timeout_sec)},
          {"OHFP_BIN", std::string(OHFP_BINARY_DIR) + "/ohfp"},
          {"AWS_EC2_METADATA_DISABLED", "true"}};
}

HostFactoryEnv::~HostFactoryEnv() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

EnvList HostFactoryEnv::Env() const { return env_; }

std::string HostFactoryEnv::StorePath() const {
  return store_ == "json" ? workdir() + "/data/request_database.json" : workdir() + "/data/ohfp.db";
}

std::string HostFactoryEnv::ScriptPath(const std::string& verb) const {
  return std::string(OHFP_SOURCE_DIR) + "/scripts/" + verb + ".sh";
}

RunResult HostFactoryEnv::Script(const std::string& verb, const json& input, int timeout_ms,
                                 const EnvList& extra_env) const {
  std::string path = root_ + "/hf_in_" + std::to_string(counter++);
  WriteFile(path, input.dump());
  ProcessOptions p;
  p.argv = {ScriptPath(verb), "-f", path};
  p.extra_env = env_;
  p.extra_env.insert(p.extra_env.end(), extra_env.begin(), extra_env.end());
  p.unset_env = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"};
  p.timeout_ms = timeout_ms;
  RunResult r = RunProcess(p);
  ::unlink(path.c_str());
  return r;
}

RunResult HostFactoryEnv::ScriptStdin(const std::string& verb, const std::string& input) const {
  ProcessOptions p;
  p.argv = {ScriptPath(verb)};
  p.extra_env = env_;
  p.unset_env = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"};
  p.stdin_data = input;
  return RunProcess(p);
}

RunResult HostFactoryEnv::Cli(const std::vector<std::string>& args,
                              const std::string& stdin_data) const {
  ProcessOptions p;
  p.argv = {std::string(OHFP_BINARY_DIR) + "/ohfp"};
  p.argv.insert(p.argv.end(), args.begin(), args.end());
  p.extra_env = env_;
  p.unset_env = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"};
  p.stdin_data = stdin_data;
  return RunProcess(p);
}

json StdoutJson(const RunResult& r) {
  try {
    return json::parse(r.stdout_text);
  } catch (const json::exception&) {
    return json::object();
  }
}

std::string Describe(const RunResult& r) {
  return "exit=" + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
         "\nstdout: " + r.stdout_text + "\nstderr: " + r.stderr_text;
}

}  // namespace ohfp::testsupport
