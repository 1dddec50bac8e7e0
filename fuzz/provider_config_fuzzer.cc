// The provider configuration, from raw bytes: ParseProviderConfig is what
// LoadProviderConfig runs on awsprov_config.json and config.json, minus the
// disk. The input is the IBM file, then optionally a NUL byte and config.json
// (an empty IBM part means that file is absent).
//
// Checks: a failure is a configuration error; an accepted configuration has
// every value in its documented range and every path resolved; and a secret
// from config.json never shows up in an error message.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "config/provider_config.h"
#include "fuzz/check.h"

namespace ohfp {
namespace {

using json = nlohmann::json;

const Directories kDirs{"awsinst", "/fuzz/conf", "/fuzz/work", "/fuzz/log"};

// A fixed environment, so that $VAR expansion, the propagated log settings
// and the region fallback are all reachable.
const std::map<std::string, std::string> kEnv{
    {"HOME", "/home/sym"},
    {"HF_TOP", "/opt/hf"},
    {"AWS_DEFAULT_REGION", "eu-west-1"},
    {"HF_LOGLEVEL", "LOG_DEBUG"},
    {"HF_LOG_MAX_FILE_SIZE", "5"},
    {"HF_LOG_MAX_ROTATE", "3"},
};

bool InRange(int64_t value, int64_t min, int64_t max) { return value >= min && value <= max; }

void CheckAccepted(const ProviderConfig& c) {
  const AwsSettings& aws = c.aws;
  FUZZ_CHECK(!aws.region.empty(), "no region");
  for (unsigned char ch : aws.region) {
    FUZZ_CHECK(std::islower(ch) || std::isdigit(ch) || ch == '-', "region " + aws.region);
  }
  FUZZ_CHECK(aws.endpoint_url.empty() || aws.endpoint_url.rfind("http://", 0) == 0 ||
                 aws.endpoint_url.rfind("https://", 0) == 0,
             aws.endpoint_url);
  FUZZ_CHECK(aws.proxy_host.empty() || InRange(aws.proxy_port, 1, 65535), aws.proxy_host);
  FUZZ_CHECK(aws.proxy_port == 0 || InRange(aws.proxy_port, 1, 65535), "proxy port");
  FUZZ_CHECK(InRange(aws.connection_timeout_ms, 1, INT32_MAX), "connection timeout");
  FUZZ_CHECK(InRange(aws.request_retry_attempts, 0, 10), "retry attempts");
  FUZZ_CHECK(InRange(aws.instance_pending_timeout_sec, 180, 10000), "pending timeout");
  FUZZ_CHECK(InRange(aws.describe_request_retry_attempts, 0, 10), "describe attempts");
  FUZZ_CHECK(InRange(aws.describe_request_interval_ms, 0, 10000), "describe interval");
  FUZZ_CHECK(aws.credential_file.empty() || aws.credential_file[0] == '/', aws.credential_file);
  FUZZ_CHECK(aws.key_file.empty() || aws.key_file[0] == '/', aws.key_file);

  const LoggingSettings& log = c.logging;
  bool level_ok = false;
  for (const char* level : {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"})
    level_ok |= log.level == level;
  FUZZ_CHECK(level_ok, "log level " + log.level);
  FUZZ_CHECK(!log.file_path.empty() && log.file_path[0] == '/', log.file_path);
  FUZZ_CHECK(log.max_size_bytes >= 1 && InRange(log.max_files, 0, 1000), "log rotation");

  FUZZ_CHECK(c.storage.strategy == "sqlite" || c.storage.strategy == "json", c.storage.strategy);
  FUZZ_CHECK(!c.storage.path.empty() && c.storage.path[0] == '/', c.storage.path);
  FUZZ_CHECK(c.storage.path.back() != '/', c.storage.path);
  FUZZ_CHECK(InRange(c.action_timeout_sec, 1, INT32_MAX), "action timeout");
}

// The provider block of config.json, where the secrets live; null if none.
json* ProviderBlock(json& config) {
  if (!config.is_object() || !config.contains("provider")) return nullptr;
  json& provider = config["provider"];
  if (!provider.is_object() || !provider.contains("providers")) return nullptr;
  json& providers = provider["providers"];
  if (!providers.is_array() || providers.empty() || !providers[0].is_object()) return nullptr;
  if (!providers[0].contains("config") || !providers[0]["config"].is_object()) return nullptr;
  return &providers[0]["config"];
}

// Fails when `message` quotes a secret of config.json. A secret that shows
// up in the message only counts when the message loses it once the secret
// is changed: a short secret like "outside" may match the message's words.
void CheckNoSecretIn(const std::string& message, const ConfigFiles& files) {
  json config = json::parse(files.json_text, nullptr, /*allow_exceptions=*/false);
  json* block = ProviderBlock(config);
  if (block == nullptr) return;
  for (const char* key : {"access_key_id", "secret_access_key", "session_token"}) {
    auto it = block->find(key);
    if (it == block->end() || !it->is_string()) continue;
    std::string secret = it->get<std::string>();
    if (secret.size() < 4 || message.find(secret) == std::string::npos) continue;

    std::string changed = secret;
    for (char& c : changed) c = c == 'x' ? 'y' : 'x';
    (*block)[key] = changed;
    ConfigFiles again = files;
    again.json_text = config.dump();
    (*block)[key] = secret;
    Result<ProviderConfig> other = ParseProviderConfig(again, kDirs, kEnv);
    FUZZ_CHECK(!other.ok() && other.status().ToString().find(secret) != std::string::npos,
               std::string(key) + " is in the message: " + message);
  }
}

}  // namespace
}  // namespace ohfp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ohfp;
  std::string input(reinterpret_cast<const char*>(data), size);

  ConfigFiles files;
  size_t nul = input.find('\0');
  files.ibm_text = input.substr(0, nul);
  if (!files.ibm_text.empty()) files.ibm_path = "/fuzz/conf/awsprov_config.json";
  if (nul != std::string::npos) {
    files.json_path = "/fuzz/conf/config.json";
    files.json_text = input.substr(nul + 1);
  }

  Result<ProviderConfig> config = ParseProviderConfig(files, kDirs, kEnv);
  if (config.ok()) {
    CheckAccepted(*config);
    return 0;
  }
  const Status& status = config.status();
  FUZZ_CHECK(status.code() == ErrorCode::kConfigurationError, status.ToString());
  if (!files.json_path.empty()) CheckNoSecretIn(status.ToString(), files);
  return 0;
}
