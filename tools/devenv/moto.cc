#include "devenv/moto.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "aws/credentials.h"
#include "aws/socket_transport.h"
#include "aws/xml.h"

namespace ohfp::devenv {
namespace {

constexpr int64_t kStartTimeoutMs = 30000;
constexpr int64_t kStopGraceMs = 5000;
constexpr char kEc2Version[] = "2016-11-15";
constexpr char kIamVersion[] = "2010-05-08";
constexpr char kTestUser[] = "ohfp-test";

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// True once `pid` has exited (reaped here if it is our child).
bool HasExited(pid_t pid) {
  int status = 0;
  pid_t w = waitpid(pid, &status, WNOHANG);
  if (w == pid) return true;
  if (w == 0) return false;
  // Not our child (attached to a server started by another process).
  if (kill(pid, 0) != 0) return errno == ESRCH;
  // A zombie waiting for a parent that is not us counts as gone.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

bool WaitForExit(pid_t pid, int64_t timeout_ms) {
  int64_t deadline = NowMs() + timeout_ms;
  while (!HasExited(pid)) {
    if (NowMs() >= deadline) return false;
    SleepMs(20);
  }
  return true;
}

std::string LogTail(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > 600 ? text.substr(text.size() - 600) : text;
}

// Forks and execs moto_server; returns the child's pid or -1.
pid_t LaunchMoto(int port, const MotoOptions& options) {
  std::string port_text = std::to_string(port);
  std::string log_path = options.log_path.empty() ? "/dev/null" : options.log_path;
  const char* argv[] = {"moto_server", "-H",    "127.0.0.1", "-p",    port_text.c_str(),
                        nullptr,       nullptr, nullptr,     nullptr, nullptr};
  if (!options.tls_certificate.empty()) {
    argv[5] = "-c";
    argv[6] = options.tls_certificate.c_str();
    argv[7] = "-k";
    argv[8] = options.tls_key.c_str();
  }
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid != 0) return pid;

  // Child: async-signal-safe calls only.
  if (options.detach) {
    setsid();  // out of our session: survives the terminal and our exit
  } else {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the test that started it
    if (getppid() != parent) _exit(1);
  }
  int in = open("/dev/null", O_RDONLY);
  int out = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(127);
  close_range(3, ~0U, 0);
  execvp(argv[0], const_cast<char* const*>(argv));
  _exit(127);
}

// Waits until moto answers HTTP, or it dies, or the time is up.
Status WaitUntilReady(pid_t pid, const std::string& endpoint, const MotoOptions& options) {
  const std::string& log_path = options.log_path;
  aws::SocketTransport transport(aws::TransportOptions{{}, options.tls_certificate});
  aws::HttpRequest probe;
  probe.method = "GET";
  probe.url = endpoint + "/moto-api/data.json";
  probe.headers = {{"Host", endpoint.substr(endpoint.find("//") + 2)}};
  probe.timeout_ms = 2000;
  probe.connect_timeout_ms = 500;
  int64_t deadline = NowMs() + kStartTimeoutMs;
  while (NowMs() < deadline) {
    if (HasExited(pid)) {
      return Status::Internal("moto_server exited during start-up: " + LogTail(log_path));
    }
    Result<aws::HttpResponse> response = transport.Send(probe);
    if (response.ok() && response->status == 200) return Status();
    SleepMs(50);
  }
  return Status::Internal("moto_server did not answer within 30 s");
}

Result<std::string> PostIam(aws::AwsClient& client, const std::string& action,
                            const aws::QueryParams& params) {
  return client.CallQuery("iam", action, kIamVersion, params);
}

// Creates the IAM user and key while moto accepts anything, then switches
// signature checking on.
Result<aws::Credentials> EnableSignatureChecking(const std::string& endpoint,
                                                 const MotoOptions& moto) {
  const std::string& region = moto.region;
  aws::SocketTransport transport(aws::TransportOptions{{}, moto.tls_certificate});
  aws::StaticCredentials bootstrap(aws::Credentials{"testing", "testing", "", 0});
  SystemClock clock;
  aws::ClientOptions options;
  options.region = region;
  options.endpoint_url = endpoint;
  aws::AwsClient client(options, &transport, &bootstrap, &clock);

  Result<std::string> created = PostIam(client, "CreateUser", {{"UserName", kTestUser}});
  if (!created.ok()) return created.status();
  nlohmann::json policy = {
      {"Version", "2012-10-17"},
      {"Statement", {{{"Effect", "Allow"}, {"Action", "*"}, {"Resource", "*"}}}}};
  Result<std::string> put = PostIam(
      client, "PutUserPolicy",
      {{"UserName", kTestUser}, {"PolicyName", "allow-all"}, {"PolicyDocument", policy.dump()}});
  if (!put.ok()) return put.status();
  Result<std::string> key = PostIam(client, "CreateAccessKey", {{"UserName", kTestUser}});
  if (!key.ok()) return key.status();

  pugi::xml_document doc;
  OHFP_RETURN_IF_ERROR(aws::ParseXml(*key, &doc));
  aws::Credentials credentials;
  credentials.access_key_id = aws::FindFirst(doc, "AccessKeyId").text().get();
  credentials.secret_access_key = aws::FindFirst(doc, "SecretAccessKey").text().get();
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::Internal("moto CreateAccessKey answered without a key");
  }

  // Moto reads the body only as text/plain; as a form it sees nothing.
  aws::HttpRequest reset;
  reset.url = endpoint + "/moto-api/reset-auth";
  reset.headers = {{"Host", endpoint.substr(endpoint.find("//") + 2)},
                   {"Content-Type", "text/plain"}};
  reset.body = "0";
  Result<aws::HttpResponse> answer = transport.Send(reset);
  if (!answer.ok()) return answer.status();
  if (answer->status != 200) {
    return Status::Internal("moto reset-auth answered HTTP " + std::to_string(answer->status));
  }
  return credentials;
}

}  // namespace

MotoServer::MotoServer(pid_t pid, int port, aws::Credentials credentials, std::string region)
    : pid_(pid),
      port_(port),
      detached_(true),
      credentials_(std::move(credentials)),
      region_(std::move(region)) {}

Result<std::unique_ptr<MotoServer>> MotoServer::Start(const MotoOptions& options) {
  Status last = Status::Internal("moto_server could not be started");
  // A port found free can be taken before moto binds it; try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = FreeLoopbackPort();
    if (port <= 0) return Status::Internal("no free loopback port");
    pid_t pid = LaunchMoto(port, options);
    if (pid < 0) return Status::Internal("fork failed for moto_server");

    std::unique_ptr<MotoServer> server(new MotoServer());
    server->pid_ = pid;
    server->port_ = port;
    server->region_ = options.region;
    server->tls_ = !options.tls_certificate.empty();
    last = WaitUntilReady(pid, server->endpoint(), options);
    if (!last.ok()) continue;  // the destructor stops this one

    if (options.signature_checking) {
      Result<aws::Credentials> credentials = EnableSignatureChecking(server->endpoint(), options);
      if (!credentials.ok()) return credentials.status();
      server->credentials_ = *credentials;
    } else {
      server->credentials_ = aws::Credentials{"testing", "testing", "", 0};
    }
    server->detached_ = options.detach;
    return server;
  }
  return last;
}

MotoServer::~MotoServer() {
  if (!detached_) Stop();
}

void MotoServer::Stop() {
  if (pid_ <= 0) return;
  if (!HasExited(pid_)) {
    kill(pid_, SIGTERM);
    if (!WaitForExit(pid_, kStopGraceMs)) {
      kill(pid_, SIGKILL);
      WaitForExit(pid_, kStopGraceMs);
    }
  }
  pid_ = -1;
}

std::string MotoServer::endpoint() const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
}

std::vector<std::pair<std::string, std::string>> MotoServer::ClientEnvironment() const {
  std::vector<std::pair<std::string, std::string>> env = {
      {"AWS_ENDPOINT_URL", endpoint()},
      {"AWS_ACCESS_KEY_ID", credentials_.access_key_id},
      {"AWS_SECRET_ACCESS_KEY", credentials_.secret_access_key},
      {"AWS_REGION", region_},
      {"AWS_EC2_METADATA_DISABLED", "true"},
  };
  if (!credentials_.session_token.empty()) {
    env.emplace_back("AWS_SESSION_TOKEN", credentials_.session_token);
  }
  return env;
}

Result<Network> CreateNetwork(aws::AwsClient& client) {
  Network network;
  pugi::xml_document doc;

  Result<std::string> vpc =
      client.CallQuery("ec2", "CreateVpc", kEc2Version, {{"CidrBlock", "10.0.0.0/16"}});
  if (!vpc.ok()) return vpc.status();
  OHFP_RETURN_IF_ERROR(aws::ParseXml(*vpc, &doc));
  network.vpc_id = aws::ChildText(aws::FindFirst(doc, "vpc"), "vpcId");

  Result<std::string> subnet =
      client.CallQuery("ec2", "CreateSubnet", kEc2Version,
                       {{"VpcId", network.vpc_id},
                        {"CidrBlock", "10.0.1.0/24"},
                        {"AvailabilityZone", client.options().region + "a"}});
  if (!subnet.ok()) return subnet.status();
  OHFP_RETURN_IF_ERROR(aws::ParseXml(*subnet, &doc));
  network.subnet_id = aws::ChildText(aws::FindFirst(doc, "subnet"), "subnetId");

  Result<std::string> group = client.CallQuery("ec2", "CreateSecurityGroup", kEc2Version,
                                               {{"GroupName", "ohfp-hosts"},
                                                {"GroupDescription", "ohfp test hosts"},
                                                {"VpcId", network.vpc_id}});
  if (!group.ok()) return group.status();
  OHFP_RETURN_IF_ERROR(aws::ParseXml(*group, &doc));
  network.security_group_id = aws::FindFirst(doc, "groupId").text().get();

  if (network.vpc_id.empty() || network.subnet_id.empty() || network.security_group_id.empty()) {
    return Status::Internal("EC2 answered without the ids of the new network");
  }
  return network;
}

Result<aws::Credentials> AssumeTestRole(aws::AwsClient& client, const std::string& role_name) {
  nlohmann::json trust = {
      {"Version", "2012-10-17"},
      {"Statement",
       {{{"Effect", "Allow"},
         {"Action", "sts:AssumeRole"},
         {"Principal", {{"AWS", "arn:aws:iam::123456789012:user/ohfp-test"}}}}}}};
  Result<std::string> role =
      client.CallQuery("iam", "CreateRole", "2010-05-08",
                       {{"RoleName", role_name}, {"AssumeRolePolicyDocument", trust.dump()}});
  if (!role.ok()) return role.status();
  pugi::xml_document doc;
  OHFP_RETURN_IF_ERROR(aws::ParseXml(*role, &doc));
  std::string role_arn = aws::FindFirst(doc, "Arn").text().get();

  nlohmann::json allow = {
      {"Version", "2012-10-17"},
      {"Statement", {{{"Effect", "Allow"}, {"Action", "*"}, {"Resource", "*"}}}}};
  Result<std::string> policy = client.CallQuery(
      "iam", "PutRolePolicy", "2010-05-08",
      {{"RoleName", role_name}, {"PolicyName", "all"}, {"PolicyDocument", allow.dump()}});
  if (!policy.ok()) return policy.status();

  Result<std::string> assumed =
      client.CallQuery("sts", "AssumeRole", "2011-06-15",
                       {{"RoleArn", role_arn}, {"RoleSessionName", role_name + "-session"}});
  if (!assumed.ok()) return assumed.status();
  OHFP_RETURN_IF_ERROR(aws::ParseXml(*assumed, &doc));
  pugi::xml_node found = aws::FindFirst(doc, "Credentials");
  aws::Credentials temporary;
  temporary.access_key_id = aws::ChildText(found, "AccessKeyId");
  temporary.secret_access_key = aws::ChildText(found, "SecretAccessKey");
  temporary.session_token = aws::ChildText(found, "SessionToken");
  if (temporary.session_token.empty()) {
    return Status::Internal("STS answered AssumeRole without a session token");
  }
  return temporary;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace ohfp::devenv
