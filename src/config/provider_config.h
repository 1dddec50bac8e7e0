// Provider configuration: IBM's awsprov_config.json (UPPER_SNAKE keys, values
// may be strings), plus the optional config.json in the shape the reference
// plugin uses for what IBM's file lacks (storage, logging), plus the
// directories Host Factory hands us through the environment.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace ohfp {

/// The three directories of a provider instance.
struct Directories {
  std::string provider_name;  // HF_PROVIDER_NAME, "" for manual runs
  std::string confdir;
  std::string workdir;
  std::string logdir;
};

/// Resolves directories from HF_PROVIDER_NAME/CONFDIR/WORKDIR/LOGDIR with the
/// IBM defaults ($HF_CONFDIR/providers/<name>/, $HF_WORKDIR/providers/<name>/,
/// $HF_LOGDIR/), then ./config, ., ./logs for manual runs. `getenv` is
/// injected for tests.
Directories ResolveDirectories(const std::map<std::string, std::string>& env);

/// Everything the AWS side needs from configuration.
struct AwsSettings {
  std::string region;                           // AWS_REGION (required)
  std::string endpoint_url;                     // AWS_ENDPOINT_URL ("" = default)
  std::string credential_file;                  // AWS_CREDENTIAL_FILE ("" = chain)
  std::string profile;                          // profile in the credential file / chain
  std::string key_file;                         // AWS_KEY_FILE
  std::string proxy_host;                       // AWS_PROXY_HOST
  int64_t proxy_port = 0;                       // AWS_PROXY_PORT (required with host)
  int64_t connection_timeout_ms = 10000;        // AWS_CONNECTION_TIMEOUT_MS 1..2^31-1
  int64_t request_timeout_ms = 30000;           // AWS_REQUEST_TIMEOUT_MS, per attempt
  int64_t call_budget_sec = 0;                  // AWS_CALL_BUDGET_SEC, 0 = from the action timeout
  int64_t request_retry_attempts = 0;           // AWS_REQUEST_RETRY_ATTEMPTS 0..10
  int64_t instance_pending_timeout_sec = 180;   // 180..10000
  int64_t describe_request_retry_attempts = 0;  // 0..10
  int64_t describe_request_interval_ms = 0;     // 0..10000
  /// Static credentials from config.json's provider block ("" = use the
  /// credential file / chain). Secrets: never log, echo or persist them.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

struct LoggingSettings {
  std::string level = "INFO";    // TRACE, DEBUG, INFO, WARN, ERROR
  std::string file_path;         // "" = <logdir>/<provider name or ohfp>.log (Load fills it)
  bool console_enabled = false;  // also log to stderr
  int64_t max_size_bytes = 10 * 1024 * 1024;
  int64_t max_files = 5;
  bool accept_propagated_setting = false;  // ACCEPT_PROPAGATED_LOG_SETTING
};

struct StorageSettings {
  std::string strategy = "sqlite";  // sqlite | json
  std::string path;  // "" = <workdir>/data/ohfp.db or request_database.json (Load fills it)
};

struct ProviderConfig {
  AwsSettings aws;
  LoggingSettings logging;
  StorageSettings storage;
  int64_t action_timeout_sec = 240;  // HF_PROVIDER_ACTION_TIMEOUT
  std::string config_path;           // the awsprov_config.json read, "" if none
  std::string config_json_path;      // the config.json read, "" if none
  /// Things worth a log line that are not errors (e.g. ignored keys).
  std::vector<std::string> warnings;
};

/// Loads configuration:
///  1. <confdir>/<provider_name>prov_config.json, else awsprov_config.json;
///  2. config.json: `explicit_config_path` if given (must exist), else
///     <confdir>/config.json if present. Keys: storage.strategy ("json",
///     "sql" → sqlite with sql_strategy.type sqlite), json_strategy.base_path
///     and filenames.single_file, sql_strategy.name, logging.*, and
///     provider.providers[0].config.{region, endpoint_url, profile,
///     credential_file} as fallbacks for the IBM keys;
///  3. environment: HF_PROVIDER_ACTION_TIMEOUT, HF_LOGLEVEL/HF_LOG_MAX_FILE_SIZE/
///     HF_LOG_MAX_ROTATE when ACCEPT_PROPAGATED_LOG_SETTING is true,
///     AWS_REGION / AWS_DEFAULT_REGION when the files name no region.
/// Relative paths in storage/logging resolve against workdir/logdir, the
/// credential and key files against confdir ("~/" is $HOME). String values
/// (not secrets) have $VAR / ${VAR} expanded from `env`. Unknown keys in the
/// IBM file end up in `warnings`.
/// Out-of-range or wrongly typed values are a kConfigurationError naming the
/// key. No region anywhere is a kConfigurationError.
Result<ProviderConfig> LoadProviderConfig(const Directories& dirs,
                                          const std::string& explicit_config_path,
                                          const std::map<std::string, std::string>& env);

/// How long one process may spend on AWS calls, retries included, so that
/// it answers before Host Factory kills it: the action timeout less a margin
/// for the rest of its work (a tenth, at most 5 s), or AWS_CALL_BUDGET_SEC
/// when that is set and shorter. Never more than the action timeout allows.
int64_t CallBudgetMs(const ProviderConfig& config);

/// The configuration files LoadProviderConfig found, already read. A path
/// names its file in messages; an empty path means the file is absent.
struct ConfigFiles {
  std::string ibm_path;  // <name>prov_config.json or awsprov_config.json
  std::string ibm_text;
  std::string json_path;  // config.json
  std::string json_text;
};

/// LoadProviderConfig's rules (steps 2 and 3 of it and every check) applied
/// to files already read: the seam for tests and fuzzing, no disk access.
Result<ProviderConfig> ParseProviderConfig(const ConfigFiles& files, const Directories& dirs,
                                           const std::map<std::string, std::string>& env);

/// A snapshot of the process environment as a map.
std::map<std::string, std::string> CurrentEnvironment();

}  // namespace ohfp
