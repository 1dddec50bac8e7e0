// ohfp-devenv: starts a detached moto_server with a network to launch into
// and writes the environment that points ohfp at it; stops it again.
//
//   ohfp-devenv start --dir DIR [--no-auth] [--region REGION]
//   ohfp-devenv stop --dir DIR
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "aws/credentials.h"
#include "aws/socket_transport.h"
#include "devenv/moto.h"

namespace ohfp::devenv {
namespace {

int Usage() {
  std::cerr << "usage: ohfp-devenv start --dir DIR [--no-auth] [--region REGION]\n"
               "       ohfp-devenv stop --dir DIR\n";
  return 2;
}

// Single-quoted for sh: no expansion of anything inside.
std::string ShellQuote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

std::string ShellUnquote(std::string value) {
  std::string out;
  bool quoted = false;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\'') {
      quoted = !quoted;
    } else if (!quoted && value[i] == '\\' && i + 1 < value.size()) {
      out.push_back(value[++i]);
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

// Written to a temporary file and renamed, so that a reader never sees half
// of it; 0600 because it holds a secret key.
Status WriteEnvFile(const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string text = "# Written by ohfp-devenv start; `ohfp-devenv stop` reads MOTO_PID.\n";
  for (const auto& [name, value] : vars) text += "export " + name + "=" + ShellQuote(value) + "\n";

  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot write " + tmp + ": " + std::strerror(errno));
  fchmod(fd, 0600);
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = fsync(fd) == 0 && ok;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return Status::Internal("cannot write " + path);
  }
  return Status();
}

int Start(const std::string& dir, bool auth, const std::string& region) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::cerr << "ohfp-devenv: cannot create " << dir << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  MotoOptions options;
  options.signature_checking = auth;
  options.log_path = dir + "/moto.log";
  options.detach = true;
  options.region = region;
  Result<std::unique_ptr<MotoServer>> server = MotoServer::Start(options);
  if (!server.ok()) {
    std::cerr << "ohfp-devenv: " << server.status().ToString() << "\n";
    return 1;
  }
  MotoServer& moto = **server;

  aws::SocketTransport transport;
  aws::StaticCredentials credentials(moto.credentials());
  SystemClock clock;
  aws::ClientOptions client_options;
  client_options.region = region;
  client_options.endpoint_url = moto.endpoint();
  aws::AwsClient client(client_options, &transport, &credentials, &clock);
  Result<Network> network = CreateNetwork(client);
  if (!network.ok()) {
    std::cerr << "ohfp-devenv: " << network.status().ToString() << "\n";
    moto.Stop();
    return 1;
  }

  std::vector<std::pair<std::string, std::string>> vars = moto.ClientEnvironment();
  vars.emplace_back("MOTO_PID", std::to_string(moto.pid()));
  vars.emplace_back("MOTO_PORT", std::to_string(moto.port()));
  vars.emplace_back("OHFP_VPC_ID", network->vpc_id);
  vars.emplace_back("OHFP_SUBNET_ID", network->subnet_id);
  vars.emplace_back("OHFP_SECURITY_GROUP_ID", network->security_group_id);
  Status written = WriteEnvFile(dir + "/env.sh", vars);
  if (!written.ok()) {
    std::cerr << "ohfp-devenv: " << written.ToString() << "\n";
    moto.Stop();
    return 1;
  }
  std::cerr << "ohfp-devenv: moto_server pid " << moto.pid() << " at " << moto.endpoint()
            << " (signature checking " << (auth ? "on" : "off") << "), subnet "
            << network->subnet_id << ", security group " << network->security_group_id
            << "; environment in " << dir << "/env.sh\n";
  return 0;
}

int Stop(const std::string& dir) {
  std::string path = dir + "/env.sh";
  std::ifstream in(path);
  if (!in) {
    std::cerr << "ohfp-devenv: cannot read " << path << "\n";
    return 1;
  }
  std::string line;
  pid_t pid = -1;
  int port = 0;
  while (std::getline(in, line)) {
    const std::string pid_prefix = "export MOTO_PID=";
    const std::string port_prefix = "export MOTO_PORT=";
    if (line.rfind(pid_prefix, 0) == 0)
      pid = std::atoi(ShellUnquote(line.substr(pid_prefix.size())).c_str());
    if (line.rfind(port_prefix, 0) == 0)
      port = std::atoi(ShellUnquote(line.substr(port_prefix.size())).c_str());
  }
  if (pid <= 1) {
    std::cerr << "ohfp-devenv: no MOTO_PID in " << path << "\n";
    return 1;
  }

  // The pid may have been reused since; only signal a moto_server.
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::string command((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  if (command.find("moto_server") == std::string::npos) {
    std::cerr << "ohfp-devenv: process " << pid << " is not moto_server (already stopped?)\n";
    return 0;
  }
  MotoServer server(pid, port, aws::Credentials{}, "");
  server.Stop();
  std::cerr << "ohfp-devenv: stopped moto_server pid " << pid << "\n";
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string verb = argv[1];
  std::string dir;
  std::string region = "us-east-1";
  bool auth = true;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg == "--region" && i + 1 < argc) {
      region = argv[++i];
    } else if (arg == "--no-auth" && verb == "start") {
      auth = false;
    } else {
      return Usage();
    }
  }
  if (dir.empty()) return Usage();
  if (verb == "start") return Start(dir, auth, region);
  if (verb == "stop") return Stop(dir);
  return Usage();
}

}  // namespace
}  // namespace ohfp::devenv

int main(int argc, char** argv) { return ohfp::devenv::Main(argc, argv); }
