// An IBM-style provider directory wired to a moto_server, for tests that run
// the real scripts and binary as Host Factory would.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devenv/moto.h"
#include "support/process.h"

namespace ohfp::testsupport {

/// One moto_server (signature checking on) and one network, shared by a test
/// suite: start it in SetUpTestSuite, stop it in TearDownTestSuite.
struct SharedMoto {
  std::unique_ptr<devenv::MotoServer> server;
  devenv::Network network;
  std::string ca_bundle;  // the certificate to trust when moto serves https
};

/// Starts moto (with signature checking, and https when `options` gives a
/// certificate) and creates a VPC, subnet and security group; fails the
/// calling test (ASSERT-style) by returning null on error.
std::unique_ptr<SharedMoto> StartSharedMoto(devenv::MotoOptions options = {});

/// Every store back end the integration suites run against; a new back end
/// joins every crash, concurrency, fault and secrets test by being listed.
inline const std::vector<std::string> kStoreBackEnds = {"sqlite", "json"};

struct EnvOptions {
  std::string store = "sqlite";  // "sqlite" | "json"
  int64_t max_number = 50;       // of every template
  std::string log_level = "DEBUG";
  int action_timeout_sec = 240;   // HF_PROVIDER_ACTION_TIMEOUT
  std::string endpoint_override;  // "" = moto's
  /// The key written to the credentials file (with its session token, if
  /// any); unset = moto's IAM key.
  std::optional<aws::Credentials> credentials;
  /// More keys for awsprov_config.json (AWS_REQUEST_TIMEOUT_MS, …).
  nlohmann::json provider_config = nlohmann::json::object();
};

class HostFactoryEnv {
 public:
  HostFactoryEnv(const SharedMoto& moto, const EnvOptions& options = {});
  ~HostFactoryEnv();
  HostFactoryEnv(const HostFactoryEnv&) = delete;
  HostFactoryEnv& operator=(const HostFactoryEnv&) = delete;

  /// Runs scripts/<verb>.sh -f <file holding input>.
  /// `extra_env` is set on top of Env() (e.g. OHFP_CRASH_AT).
  RunResult Script(const std::string& verb, const nlohmann::json& input, int timeout_ms = 60000,
                   const EnvList& extra_env = {}) const;
  /// Runs scripts/<verb>.sh with `input` on standard input and no -f.
  RunResult ScriptStdin(const std::string& verb, const std::string& input) const;
  /// Runs build/ohfp with these arguments (and optional standard input).
  RunResult Cli(const std::vector<std::string>& args, const std::string& stdin_data = "") const;

  /// HF_PROVIDER_* and OHFP_BIN for a child process.
  EnvList Env() const;
  std::string ScriptPath(const std::string& verb) const;
  const std::string& root() const { return root_; }
  /// The file of the store this environment uses (its EnvOptions::store).
  std::string StorePath() const;
  std::string confdir() const { return root_ + "/conf"; }
  std::string workdir() const { return root_ + "/work"; }
  std::string logdir() const { return root_ + "/logs"; }
  const std::string& secret_key() const { return secret_; }
  /// Every part of the key ohfp signs with that must never leak: the access
  /// key id, the secret key and the session token (when there is one).
  std::vector<std::string> secrets() const { return secrets_; }

 private:
  std::string root_;
  std::string secret_;
  std::vector<std::string> secrets_;
  std::string store_;
  EnvList env_;
};

/// An instance moto holds that carries our request-id tag.
struct TaggedInstance {
  std::string instance_id;
  std::string request_id;
  std::string state;
  std::map<std::string, std::string> tags;  // every tag, by key
};

/// Every instance in `moto` carrying the ohfp:request-id tag, whatever its
/// state (one paged DescribeInstances, signed).
std::vector<TaggedInstance> ListTaggedInstances(const SharedMoto& moto);

/// Temporary credentials with a session token from moto's STS (a new
/// allow-all role `role_name`); nullopt, with a message on stderr, on error.
std::optional<aws::Credentials> AssumeTestRole(const SharedMoto& moto,
                                               const std::string& role_name);

/// stdout of `r` as JSON; a parse failure is an empty object (and the test's
/// own assertions then fail with the text shown).
nlohmann::json StdoutJson(const RunResult& r);

/// "exit=N stdout=… stderr=…", for assertion messages.
std::string Describe(const RunResult& r);

}  // namespace ohfp::testsupport
