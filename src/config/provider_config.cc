#include "config/provider_config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include "config/json_value.h"
#include "core/ascii.h"

extern char** environ;

namespace ohfp {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Env = std::map<std::string, std::string>;

constexpr int64_t kMegabyte = 1024 * 1024;

std::string Get(const Env& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

// "/a/b/" and "/a/b" name the same directory; keep one spelling ("/" stays).
std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string Join(const std::string& base, const std::string& name) {
  return (fs::path(base) / name).string();
}

// A relative path is taken relative to `base`; "~/" means $HOME.
std::string Resolve(const std::string& path, const std::string& base, const Env& env) {
  if (path.empty()) return path;
  if (path.rfind("~/", 0) == 0 && !Get(env, "HOME").empty()) {
    return Join(Get(env, "HOME"), path.substr(2));
  }
  if (fs::path(path).is_absolute()) return path;
  return Join(base, path);
}

std::string FileExists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) ? path : std::string();
}

/// Symphony writes levels syslog-style (LOG_WARNING, LOG_ERR); the reference
/// plugins write Python names (WARNING, CRITICAL). All map onto five levels.
std::optional<std::string> NormalizeLogLevel(std::string_view raw) {
  std::string level = AsciiUpper(TrimBlanks(raw));
  if (level.rfind("LOG_", 0) == 0) level = level.substr(4);
  if (level == "TRACE") return "TRACE";
  if (level == "DEBUG") return "DEBUG";
  if (level == "INFO" || level == "NOTICE") return "INFO";
  if (level == "WARN" || level == "WARNING") return "WARN";
  if (level == "ERROR" || level == "ERR" || level == "CRIT" || level == "CRITICAL" ||
      level == "FATAL" || level == "ALERT" || level == "EMERG") {
    return "ERROR";
  }
  return std::nullopt;
}

// Reads values from one configuration object, naming keys in errors the way
// the file spells them ("AWS_PROXY_PORT", "logging.max_size").
class ValueReader {
 public:
  ValueReader(const json& object, std::string prefix, std::string path, const Env& env)
      : object_(object), prefix_(std::move(prefix)), path_(std::move(path)), env_(env) {}

  Status Error(const std::string& key, const std::string& rule) const {
    return Status::Configuration(prefix_ + key + " " + rule + " (in " + path_ + ")");
  }

  const json* Find(const char* key) const {
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  /// A string value with $VAR references expanded; untouched when absent.
  Status String(const char* key, std::string* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status();
    if (!v->is_string()) return Error(key, "must be a string");
    *out = ExpandVariables(TrimBlanks(v->get_ref<const std::string&>()), env_);
    return Status();
  }

  /// A secret: no expansion (a '$' may be part of it) and never quoted.
  Status Secret(const char* key, std::string* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status();
    if (!v->is_string()) return Error(key, "must be a string");
    *out = TrimBlanks(v->get_ref<const std::string&>());
    return Status();
  }

  Status Integer(const char* key, int64_t min, int64_t max, int64_t* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status();
    std::optional<int64_t> n = ToInt64(*v);
    if (!n) return Error(key, "must be an integer, got " + DescribeValue(*v));
    if (*n < min || *n > max) {
      return Error(
          key, std::to_string(*n) + " outside " + std::to_string(min) + ".." + std::to_string(max));
    }
    *out = *n;
    return Status();
  }

  Status Bool(const char* key, bool* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status();
    std::optional<bool> b = ToBool(*v);
    if (!b) return Error(key, "must be true or false, got " + DescribeValue(*v));
    *out = *b;
    return Status();
  }

  Status LogLevel(const char* key, std::string* out) const {
    std::string raw;
    OHFP_RETURN_IF_ERROR(String(key, &raw));
    if (raw.empty()) return Status();
    std::optional<std::string> level = NormalizeLogLevel(raw);
    if (!level) return Error(key, "'" + raw + "' is not TRACE, DEBUG, INFO, WARN or ERROR");
    *out = *level;
    return Status();
  }

 private:
  const json& object_;
  std::string prefix_;
  std::string path_;
  const Env& env_;
};

// The AWS settings, under their IBM (awsprov_config.json) and config.json
// (provider.providers[0].config) names.
struct StringKey {
  const char* ibm;
  const char* json;
  std::string AwsSettings::*field;
};
constexpr StringKey kStringKeys[] = {
    {"AWS_REGION", "region", &AwsSettings::region},
    {"AWS_ENDPOINT_URL", "endpoint_url", &AwsSettings::endpoint_url},
    {"AWS_CREDENTIAL_FILE", "credential_file", &AwsSettings::credential_file},
    {"AWS_PROFILE", "profile", &AwsSettings::profile},
    {"AWS_KEY_FILE", "key_file", &AwsSettings::key_file},
    {"AWS_PROXY_HOST", "proxy_host", &AwsSettings::proxy_host},
};

struct IntegerKey {
  const char* ibm;
  const char* json;
  int64_t AwsSettings::*field;
  int64_t min;
  int64_t max;
};
constexpr IntegerKey kIntegerKeys[] = {
    {"AWS_PROXY_PORT", "proxy_port", &AwsSettings::proxy_port, 1, 65535},
    {"AWS_CONNECTION_TIMEOUT_MS", "connection_timeout_ms", &AwsSettings::connection_timeout_ms, 1,
     2147483647},
    {"AWS_REQUEST_TIMEOUT_MS", "request_timeout_ms", &AwsSettings::request_timeout_ms, 1,
     2147483647},
    {"AWS_CALL_BUDGET_SEC", "call_budget_sec", &AwsSettings::call_budget_sec, 0, 2147483647},
    {"AWS_REQUEST_RETRY_ATTEMPTS", "request_retry_attempts", &AwsSettings::request_retry_attempts,
     0, 10},
    {"AWS_INSTANCE_PENDING_TIMEOUT_SEC", "instance_pending_timeout_sec",
     &AwsSettings::instance_pending_timeout_sec, 180, 10000},
    {"AWS_DESCRIBE_REQUEST_RETRY_ATTEMPTS", "describe_request_retry_attempts",
     &AwsSettings::describe_request_retry_attempts, 0, 10},
    {"AWS_DESCRIBE_REQUEST_INTERVAL", "describe_request_interval",
     &AwsSettings::describe_request_interval_ms, 0, 10000},
};

constexpr const char* kIbmLoggingKeys[] = {"LOG_LEVEL", "LOG_FILE", "LOG_CONSOLE_ENABLED",
                                           "ACCEPT_PROPAGATED_LOG_SETTING"};

// Reads the AWS keys present in `reader` (IBM names when `ibm`) over `aws`.
Status ReadAwsKeys(const ValueReader& reader, bool ibm, AwsSettings* aws) {
  for (const StringKey& k : kStringKeys) {
    OHFP_RETURN_IF_ERROR(reader.String(ibm ? k.ibm : k.json, &(aws->*k.field)));
  }
  for (const IntegerKey& k : kIntegerKeys) {
    OHFP_RETURN_IF_ERROR(reader.Integer(ibm ? k.ibm : k.json, k.min, k.max, &(aws->*k.field)));
  }
  return Status();
}

Status ReadIbmConfig(const std::string& text, const std::string& path, const Env& env,
                     ProviderConfig* config) {
  Result<json> document = ParseJsonText(text, path, /*show_text=*/false);
  if (!document.ok()) return document.status();
  if (!document->is_object()) return Status::Configuration(path + " must hold a JSON object");
  ValueReader reader(*document, "", path, env);

  OHFP_RETURN_IF_ERROR(ReadAwsKeys(reader, /*ibm=*/true, &config->aws));
  LoggingSettings& log = config->logging;
  OHFP_RETURN_IF_ERROR(reader.LogLevel("LOG_LEVEL", &log.level));
  OHFP_RETURN_IF_ERROR(reader.String("LOG_FILE", &log.file_path));
  OHFP_RETURN_IF_ERROR(reader.Bool("LOG_CONSOLE_ENABLED", &log.console_enabled));
  OHFP_RETURN_IF_ERROR(
      reader.Bool("ACCEPT_PROPAGATED_LOG_SETTING", &log.accept_propagated_setting));

  // A named key, not a structured binding: clang 14 cannot capture those.
  for (const auto& item : document->items()) {
    const std::string& key = item.key();
    bool known = std::any_of(std::begin(kStringKeys), std::end(kStringKeys),
                             [&](const StringKey& k) { return key == k.ibm; }) ||
                 std::any_of(std::begin(kIntegerKeys), std::end(kIntegerKeys),
                             [&](const IntegerKey& k) { return key == k.ibm; }) ||
                 std::any_of(std::begin(kIbmLoggingKeys), std::end(kIbmLoggingKeys),
                             [&](const char* k) { return key == k; });
    if (!known) config->warnings.push_back("ignored unknown key " + key + " in " + path);
  }
  config->config_path = path;
  return Status();
}

Status ReadStorage(const json& document, const std::string& path, const Directories& dirs,
                   const Env& env, StorageSettings* storage) {
  const json* section = document.contains("storage") ? &document["storage"] : nullptr;
  if (section == nullptr || section->is_null()) return Status();
  if (!section->is_object()) return Status::Configuration("storage must be an object in " + path);
  ValueReader reader(*section, "storage.", path, env);

  std::string written = "sqlite";
  OHFP_RETURN_IF_ERROR(reader.String("strategy", &written));
  std::string strategy = AsciiUpper(written);
  if (strategy == "JSON") {
    const json* js = reader.Find("json_strategy");
    json empty = json::object();
    if (js != nullptr && !js->is_object()) {
      return reader.Error("json_strategy", "must be an object");
    }
    ValueReader json_reader(js != nullptr ? *js : empty, "storage.json_strategy.", path, env);
    std::string storage_type = "single_file";
    OHFP_RETURN_IF_ERROR(json_reader.String("storage_type", &storage_type));
    if (storage_type != "single_file") {
      return json_reader.Error("storage_type",
                               "'" + storage_type + "' is not supported yet (only single_file)");
    }
    std::string base = "data";
    OHFP_RETURN_IF_ERROR(json_reader.String("base_path", &base));
    std::string file = "request_database.json";
    const json* names = json_reader.Find("filenames");
    if (names != nullptr) {
      if (!names->is_object()) return json_reader.Error("filenames", "must be an object");
      ValueReader names_reader(*names, "storage.json_strategy.filenames.", path, env);
      OHFP_RETURN_IF_ERROR(names_reader.String("single_file", &file));
    }
    if (file.empty()) return json_reader.Error("filenames.single_file", "must not be empty");
    storage->strategy = "json";
    storage->path = Join(Resolve(base, dirs.workdir, env), file);
    return Status();
  }
  if (strategy == "SQL" || strategy == "SQLITE") {
    const json* sql = reader.Find("sql_strategy");
    json empty = json::object();
    if (sql != nullptr && !sql->is_object()) {
      return reader.Error("sql_strategy", "must be an object");
    }
    ValueReader sql_reader(sql != nullptr ? *sql : empty, "storage.sql_strategy.", path, env);
    std::string type = "sqlite";
    OHFP_RETURN_IF_ERROR(sql_reader.String("type", &type));
    if (AsciiUpper(type) != "SQLITE") {
      return sql_reader.Error("type", "'" + type + "' is not supported yet (only sqlite)");
    }
    std::string name = "ohfp.db";
    OHFP_RETURN_IF_ERROR(sql_reader.String("name", &name));
    if (name.empty()) return sql_reader.Error("name", "must not be empty");
    storage->strategy = "sqlite";
    storage->path = Resolve(name, Join(dirs.workdir, "data"), env);
    return Status();
  }
  return reader.Error("strategy", "'" + written + "' is not supported (json, sql or sqlite)");
}

Status ReadLogging(const json& document, const std::string& path, const Env& env,
                   LoggingSettings* log) {
  const json* section = document.contains("logging") ? &document["logging"] : nullptr;
  if (section == nullptr || section->is_null()) return Status();
  if (!section->is_object()) return Status::Configuration("logging must be an object in " + path);
  ValueReader reader(*section, "logging.", path, env);
  OHFP_RETURN_IF_ERROR(reader.LogLevel("level", &log->level));
  OHFP_RETURN_IF_ERROR(reader.String("file_path", &log->file_path));
  OHFP_RETURN_IF_ERROR(reader.Bool("console_enabled", &log->console_enabled));
  OHFP_RETURN_IF_ERROR(reader.Integer("max_size", 1, INT64_MAX, &log->max_size_bytes));
  OHFP_RETURN_IF_ERROR(reader.Integer("backup_count", 0, 1000, &log->max_files));
  OHFP_RETURN_IF_ERROR(reader.Bool("accept_propagated_setting", &log->accept_propagated_setting));
  return Status();
}

Status ReadProviderBlock(const json& document, const std::string& path, const Env& env,
                         AwsSettings* aws) {
  const json* provider = document.contains("provider") ? &document["provider"] : nullptr;
  if (provider == nullptr || provider->is_null()) return Status();
  if (!provider->is_object()) return Status::Configuration("provider must be an object in " + path);
  auto providers = provider->find("providers");
  if (providers == provider->end() || providers->is_null()) return Status();
  if (!providers->is_array()) {
    return Status::Configuration("provider.providers must be an array in " + path);
  }
  if (providers->empty()) return Status();
  const json& first = (*providers)[0];
  if (!first.is_object()) {
    return Status::Configuration("provider.providers[0] must be an object in " + path);
  }
  auto block = first.find("config");
  if (block == first.end() || block->is_null()) return Status();
  if (!block->is_object()) {
    return Status::Configuration("provider.providers[0].config must be an object in " + path);
  }
  ValueReader reader(*block, "provider.providers[0].config.", path, env);
  OHFP_RETURN_IF_ERROR(ReadAwsKeys(reader, /*ibm=*/false, aws));
  OHFP_RETURN_IF_ERROR(reader.Secret("access_key_id", &aws->access_key_id));
  OHFP_RETURN_IF_ERROR(reader.Secret("secret_access_key", &aws->secret_access_key));
  OHFP_RETURN_IF_ERROR(reader.Secret("session_token", &aws->session_token));
  return Status();
}

Status ReadConfigJson(const std::string& text, const std::string& path, const Directories& dirs,
                      const Env& env, ProviderConfig* config) {
  // May hold secret keys, so a syntax error never quotes the text.
  Result<json> document = ParseJsonText(text, path, /*show_text=*/false);
  if (!document.ok()) return document.status();
  if (!document->is_object()) return Status::Configuration(path + " must hold a JSON object");
  OHFP_RETURN_IF_ERROR(ReadStorage(*document, path, dirs, env, &config->storage));
  OHFP_RETURN_IF_ERROR(ReadLogging(*document, path, env, &config->logging));
  OHFP_RETURN_IF_ERROR(ReadProviderBlock(*document, path, env, &config->aws));
  config->config_json_path = path;
  return Status();
}

Status ReadEnvironment(const Env& env, ProviderConfig* config) {
  json values = json::object();
  for (const char* name :
       {"HF_PROVIDER_ACTION_TIMEOUT", "HF_LOGLEVEL", "HF_LOG_MAX_FILE_SIZE", "HF_LOG_MAX_ROTATE"}) {
    std::string value = Get(env, name);
    if (!value.empty()) values[name] = value;
  }
  ValueReader reader(values, "", "the environment", env);
  OHFP_RETURN_IF_ERROR(
      reader.Integer("HF_PROVIDER_ACTION_TIMEOUT", 1, INT32_MAX, &config->action_timeout_sec));

  LoggingSettings& log = config->logging;
  if (log.accept_propagated_setting) {
    OHFP_RETURN_IF_ERROR(reader.LogLevel("HF_LOGLEVEL", &log.level));
    int64_t megabytes = 0;
    OHFP_RETURN_IF_ERROR(reader.Integer("HF_LOG_MAX_FILE_SIZE", 1, 1024 * 1024, &megabytes));
    if (megabytes > 0) log.max_size_bytes = megabytes * kMegabyte;
    OHFP_RETURN_IF_ERROR(reader.Integer("HF_LOG_MAX_ROTATE", 0, 1000, &log.max_files));
  }

  AwsSettings& aws = config->aws;
  if (aws.region.empty()) aws.region = TrimBlanks(Get(env, "AWS_REGION"));
  if (aws.region.empty()) aws.region = TrimBlanks(Get(env, "AWS_DEFAULT_REGION"));
  return Status();
}

// Checks what only the merged result can tell, and fills derived defaults.
Status Finish(const Directories& dirs, const Env& env, ProviderConfig* config) {
  AwsSettings& aws = config->aws;
  if (aws.region.empty()) {
    return Status::Configuration(
        "no AWS region: set AWS_REGION in awsprov_config.json (or region in config.json's "
        "provider block, or the AWS_REGION / AWS_DEFAULT_REGION environment variable)");
  }
  // The region becomes part of host names, so it must look like one.
  bool region_ok = std::all_of(aws.region.begin(), aws.region.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '-';
  });
  if (!region_ok) {
    return Status::Configuration("AWS region '" + aws.region + "' is not a valid region name");
  }
  if (!aws.endpoint_url.empty() && aws.endpoint_url.rfind("http://", 0) != 0 &&
      aws.endpoint_url.rfind("https://", 0) != 0) {
    return Status::Configuration("AWS_ENDPOINT_URL '" + aws.endpoint_url +
                                 "' must start with http:// or https://");
  }
  if (!aws.proxy_host.empty() && aws.proxy_port == 0) {
    return Status::Configuration("AWS_PROXY_PORT is required when AWS_PROXY_HOST is set");
  }
  aws.credential_file = Resolve(aws.credential_file, dirs.confdir, env);
  aws.key_file = Resolve(aws.key_file, dirs.confdir, env);

  LoggingSettings& log = config->logging;
  std::string log_name = (dirs.provider_name.empty() ? "ohfp" : dirs.provider_name) + ".log";
  log.file_path = log.file_path.empty() ? Join(dirs.logdir, log_name)
                                        : Resolve(log.file_path, dirs.logdir, env);

  if (config->storage.path.empty()) {
    config->storage.path = config->storage.strategy == "json"
                               ? Join(Join(dirs.workdir, "data"), "request_database.json")
                               : Join(Join(dirs.workdir, "data"), "ohfp.db");
  }
  return Status();
}

}  // namespace

Directories ResolveDirectories(const std::map<std::string, std::string>& env) {
  Directories dirs;
  dirs.provider_name = Get(env, "HF_PROVIDER_NAME");
  const std::string& name = dirs.provider_name;

  auto pick = [&](const char* own, const char* hf, bool per_provider, const char* manual) {
    std::string value = Get(env, own);
    if (!value.empty()) return StripTrailingSlashes(value);
    std::string top = Get(env, hf);
    if (!top.empty() && !per_provider) return StripTrailingSlashes(top);
    if (!top.empty() && !name.empty())
      return Join(Join(StripTrailingSlashes(top), "providers"), name);
    return std::string(manual);
  };
  dirs.confdir = pick("HF_PROVIDER_CONFDIR", "HF_CONFDIR", true, "./config");
  dirs.workdir = pick("HF_PROVIDER_WORKDIR", "HF_WORKDIR", true, ".");
  dirs.logdir = pick("HF_PROVIDER_LOGDIR", "HF_LOGDIR", false, "./logs");
  return dirs;
}

Result<ProviderConfig> LoadProviderConfig(const Directories& dirs,
                                          const std::string& explicit_config_path,
                                          const std::map<std::string, std::string>& env) {
  ConfigFiles files;
  if (!explicit_config_path.empty()) {
    files.json_path = FileExists(explicit_config_path);
    if (files.json_path.empty()) {
      return Status::Configuration("config file " + explicit_config_path + " not found");
    }
  } else {
    files.json_path = FileExists(Join(dirs.confdir, "config.json"));
  }
  if (!files.json_path.empty()) {
    Result<std::string> text = ReadTextFile(files.json_path);
    if (!text.ok()) return text.status();
    files.json_text = std::move(text).value();
  }

  if (!dirs.provider_name.empty()) {
    files.ibm_path = FileExists(Join(dirs.confdir, dirs.provider_name + "prov_config.json"));
  }
  if (files.ibm_path.empty())
    files.ibm_path = FileExists(Join(dirs.confdir, "awsprov_config.json"));
  if (!files.ibm_path.empty()) {
    Result<std::string> text = ReadTextFile(files.ibm_path);
    if (!text.ok()) return text.status();
    files.ibm_text = std::move(text).value();
  }
  return ParseProviderConfig(files, dirs, env);
}

Result<ProviderConfig> ParseProviderConfig(const ConfigFiles& files, const Directories& dirs,
                                           const std::map<std::string, std::string>& env) {
  ProviderConfig config;

  // config.json first: its provider block only fills what the IBM file,
  // read next, leaves unset.
  if (!files.json_path.empty()) {
    OHFP_RETURN_IF_ERROR(ReadConfigJson(files.json_text, files.json_path, dirs, env, &config));
  }
  if (!files.ibm_path.empty()) {
    OHFP_RETURN_IF_ERROR(ReadIbmConfig(files.ibm_text, files.ibm_path, env, &config));
  }

  OHFP_RETURN_IF_ERROR(ReadEnvironment(env, &config));
  OHFP_RETURN_IF_ERROR(Finish(dirs, env, &config));
  return config;
}

int64_t CallBudgetMs(const ProviderConfig& config) {
  const int64_t action_ms = config.action_timeout_sec * 1000;
  int64_t budget = action_ms - std::min<int64_t>(5000, action_ms / 10);
  if (config.aws.call_budget_sec > 0) {
    budget = std::min(budget, config.aws.call_budget_sec * 1000);
  }
  return budget;
}

std::map<std::string, std::string> CurrentEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

}  // namespace ohfp
