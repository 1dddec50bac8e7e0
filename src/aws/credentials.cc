#include "aws/credentials.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "aws/endpoints.h"
#include "core/ascii.h"

namespace ohfp::aws {
namespace {

// Credentials from metadata endpoints are refreshed this long before they
// expire, so that a call never starts with keys about to lapse.
constexpr int64_t kRefreshMarginSeconds = 300;
constexpr int64_t kImdsTimeoutMs = 1000;
constexpr int kImdsAttempts = 2;
constexpr int64_t kContainerTimeoutMs = 2000;
constexpr int kContainerAttempts = 2;

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string EnvValue(const Environment& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? "" : it->second;
}

bool EnvTrue(const Environment& env, const std::string& name) {
  return AsciiLower(Trim(EnvValue(env, name))) == "true";
}

// Distinguishes "no such file" (kNotFound) from "cannot read it".
Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("no file " + path);
    return Status::Configuration("cannot read " + path);
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string ExpandHome(const std::string& path, const Environment& env) {
  if (path.rfind("~/", 0) == 0) return EnvValue(env, "HOME") + path.substr(1);
  return path;
}

Status NotFound(std::string message) { return Status::NotFound(std::move(message)); }

// Keys from one INI section. `where` names the section in messages (never
// the values: they are secrets).
Result<Credentials> KeysFromSection(const std::map<std::string, std::string>& section,
                                    const std::string& where) {
  auto get = [&section](const char* key) {
    auto it = section.find(key);
    return it == section.end() ? "" : it->second;
  };
  Credentials c;
  c.access_key_id = get("aws_access_key_id");
  c.secret_access_key = get("aws_secret_access_key");
  c.session_token = get("aws_session_token");
  if (c.session_token.empty()) c.session_token = get("aws_security_token");
  if (c.access_key_id.empty() && c.secret_access_key.empty()) {
    return NotFound("no keys in " + where);
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status::Configuration(where +
                                 " has only one of aws_access_key_id and "
                                 "aws_secret_access_key");
  }
  return c;
}

// Decodes the JSON answer of the container and metadata endpoints.
Result<Credentials> ParseCredentialsJson(const std::string& body, const std::string& source) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return Status::Error(ErrorCode::kProviderError, source + " returned malformed credentials");
  }
  auto text = [&doc](const char* key) -> std::string {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
  };
  std::string code = text("Code");
  if (!code.empty() && code != "Success") {
    return Status::Error(ErrorCode::kProviderError,
                         source + " refused credentials: " + code + " " + text("Message"));
  }
  Credentials c;
  c.access_key_id = text("AccessKeyId");
  c.secret_access_key = text("SecretAccessKey");
  c.session_token = text("Token");
  std::string expiration = text("Expiration");
  if (!expiration.empty()) {
    c.expiration = ParseIso8601(expiration);
    if (c.expiration < 0) {
      return Status::Error(ErrorCode::kProviderError,
                           source + " returned an unreadable Expiration");
    }
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status::Error(ErrorCode::kProviderError, source + " returned no keys");
  }
  return c;
}

bool IsTransportError(const Status& s) { return s.details().contains("transport"); }

bool IsAllowedContainerHost(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "169.254.170.2" || host == "169.254.170.23" ||
      host == "fd00:ec2::23") {
    return true;
  }
  // Any 127.0.0.0/8 address.
  int a, b, c, d;
  char tail;
  if (std::sscanf(host.c_str(), "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) == 4) {
    return a == 127 && b >= 0 && b < 256 && c >= 0 && c < 256 && d >= 0 && d < 256;
  }
  return false;
}

}  // namespace

IniFile ParseIni(const std::string& text) {
  IniFile ini;
  std::string section;
  bool in_section = false;
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      if (close == std::string::npos) {
        in_section = false;
        continue;
      }
      section = Trim(line.substr(1, close - 1));
      in_section = true;
      ini[section];
      continue;
    }
    // Indented lines belong to a nested sub-section ("services"); not used.
    if (raw[0] == ' ' || raw[0] == '\t' || !in_section) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    ini[section][AsciiLower(Trim(line.substr(0, eq)))] = Trim(line.substr(eq + 1));
  }
  return ini;
}

Result<Credentials> EnvironmentCredentials::Get() {
  std::string id = EnvValue(env_, "AWS_ACCESS_KEY_ID");
  std::string secret = EnvValue(env_, "AWS_SECRET_ACCESS_KEY");
  if (id.empty() && secret.empty()) return NotFound("no AWS keys in the environment");
  if (id.empty() || secret.empty()) {
    return Status::Configuration("only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set");
  }
  Credentials c;
  c.access_key_id = id;
  c.secret_access_key = secret;
  c.session_token = EnvValue(env_, "AWS_SESSION_TOKEN");
  if (c.session_token.empty()) c.session_token = EnvValue(env_, "AWS_SECURITY_TOKEN");
  std::string expiration = EnvValue(env_, "AWS_CREDENTIAL_EXPIRATION");
  if (!expiration.empty()) {
    c.expiration = ParseIso8601(expiration);
    if (c.expiration < 0) return Status::Configuration("AWS_CREDENTIAL_EXPIRATION is not ISO-8601");
  }
  return c;
}

ProfileCredentials::ProfileCredentials(std::string credentials_path, std::string config_path,
                                       std::string profile)
    : credentials_path_(std::move(credentials_path)),
      config_path_(std::move(config_path)),
      profile_(std::move(profile)) {}

Result<Credentials> ProfileCredentials::Get() {
  Result<std::string> text = ReadTextFile(credentials_path_);
  if (!text.ok() && text.status().code() != ErrorCode::kNotFound) return text.status();
  if (text.ok()) {
    IniFile ini = ParseIni(*text);
    auto it = ini.find(profile_);
    if (it != ini.end()) {
      Result<Credentials> c =
          KeysFromSection(it->second, "profile " + profile_ + " of " + credentials_path_);
      if (c.ok() || c.status().code() != ErrorCode::kNotFound) return c;
    }
  }

  text = ReadTextFile(config_path_);
  if (!text.ok() && text.status().code() != ErrorCode::kNotFound) return text.status();
  if (text.ok()) {
    IniFile ini = ParseIni(*text);
    auto it = ini.find(profile_ == "default" ? "default" : "profile " + profile_);
    if (it == ini.end() && profile_ == "default") it = ini.find("profile default");
    if (it != ini.end()) {
      return KeysFromSection(it->second, "profile " + profile_ + " of " + config_path_);
    }
  }
  return NotFound("no keys for profile " + profile_ + " in the shared files");
}

CredentialFileCredentials::CredentialFileCredentials(std::string path, std::string profile)
    : path_(std::move(path)), profile_(profile.empty() ? "default" : std::move(profile)) {}

Result<Credentials> CredentialFileCredentials::Get() {
  Result<std::string> text = ReadTextFile(path_);
  if (!text.ok()) return Status::Configuration("cannot read AWS credential file " + path_);
  IniFile ini = ParseIni(*text);
  auto it = ini.find(profile_);
  if (it == ini.end()) it = ini.find("profile " + profile_);
  if (it == ini.end()) {
    return Status::Configuration("AWS credential file " + path_ + " has no profile " + profile_);
  }
  Result<Credentials> c = KeysFromSection(it->second, "profile " + profile_ + " of " + path_);
  if (!c.ok() && c.status().code() == ErrorCode::kNotFound) {
    return Status::Configuration(c.status().message());
  }
  return c;
}

ContainerCredentials::ContainerCredentials(Environment env, HttpTransport* transport)
    : env_(std::move(env)), transport_(transport) {}

Result<Credentials> ContainerCredentials::Get() {
  std::string relative = EnvValue(env_, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  std::string full = EnvValue(env_, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  std::string url;
  if (!relative.empty()) {
    url = "http://169.254.170.2" + (relative[0] == '/' ? relative : "/" + relative);
  } else if (!full.empty()) {
    Result<Url> parsed = ParseUrl(full);
    if (!parsed.ok()) {
      return Status::Configuration("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL");
    }
    if (!IsAllowedContainerHost(parsed->host)) {
      return Status::Configuration(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI must point to a loopback or container address, "
          "not " +
          parsed->host);
    }
    url = full;
  } else {
    return NotFound("no container credentials endpoint configured");
  }

  std::string authorization;
  std::string token_file = EnvValue(env_, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  if (!token_file.empty()) {
    Result<std::string> token = ReadTextFile(token_file);
    if (!token.ok()) return Status::Configuration("cannot read " + token_file);
    authorization = Trim(*token);
  } else {
    authorization = EnvValue(env_, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  if (authorization.find_first_of("\r\n") != std::string::npos) {
    return Status::Configuration("the container authorization token spans lines");
  }

  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.timeout_ms = kContainerTimeoutMs;
  request.connect_timeout_ms = kContainerTimeoutMs;
  Result<Url> parsed = ParseUrl(url);
  if (!parsed.ok()) return Status::Configuration("bad container credentials URL");
  request.headers.emplace_back("Host", HostHeader(*parsed));
  request.headers.emplace_back("Accept", "application/json");
  if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);

  Result<HttpResponse> response = transport_->Send(request);
  for (int attempt = 1; attempt < kContainerAttempts && !response.ok(); ++attempt) {
    response = transport_->Send(request);
  }
  if (!response.ok()) {
    return Status::Error(
        ErrorCode::kProviderError,
        "container credentials endpoint unreachable: " + response.status().message(),
        response.status().details());
  }
  if (response->status != 200) {
    return Status::Error(
        ErrorCode::kProviderError,
        "container credentials endpoint answered HTTP " + std::to_string(response->status),
        {{"http_status", response->status}});
  }
  return ParseCredentialsJson(response->body, "the container credentials endpoint");
}

InstanceMetadataCredentials::InstanceMetadataCredentials(Environment env, HttpTransport* transport)
    : env_(std::move(env)), transport_(transport) {}

std::string InstanceMetadataCredentials::endpoint() const {
  std::string base = EnvValue(env_, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (base.empty()) {
    base = AsciiLower(EnvValue(env_, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")) == "ipv6"
               ? "http://[fd00:ec2::254]"
               : "http://169.254.169.254";
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

Result<HttpResponse> InstanceMetadataCredentials::Fetch(const std::string& method,
                                                        const std::string& path,
                                                        const std::string& token) {
  HttpRequest request;
  request.method = method;
  request.url = endpoint() + path;
  request.timeout_ms = kImdsTimeoutMs;
  request.connect_timeout_ms = kImdsTimeoutMs;
  Result<Url> parsed = ParseUrl(request.url);
  if (!parsed.ok()) {
    return Status::Configuration("AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL");
  }
  request.headers.emplace_back("Host", HostHeader(*parsed));
  if (method == "PUT") {
    request.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
  } else if (!token.empty()) {
    request.headers.emplace_back("X-aws-ec2-metadata-token", token);
  }
  Result<HttpResponse> response = transport_->Send(request);
  for (int attempt = 1; attempt < kImdsAttempts && !response.ok(); ++attempt) {
    response = transport_->Send(request);
  }
  return response;
}

Result<Credentials> InstanceMetadataCredentials::Get() {
  if (EnvTrue(env_, "AWS_EC2_METADATA_DISABLED")) {
    return NotFound("instance metadata disabled by AWS_EC2_METADATA_DISABLED");
  }

  Result<HttpResponse> token = Fetch("PUT", "/latest/api/token", "");
  if (!token.ok()) {
    if (IsTransportError(token.status())) return NotFound("no instance metadata service");
    return token.status();
  }
  std::string token_value;
  if (token->status == 200) {
    token_value = Trim(token->body);
  } else if ((token->status == 403 || token->status == 404 || token->status == 405) &&
             !EnvTrue(env_, "AWS_EC2_METADATA_V1_DISABLED")) {
    // The service refuses sessions: IMDSv1 without a token is allowed here.
  } else {
    return Status::Error(
        ErrorCode::kProviderError,
        "instance metadata token request answered HTTP " + std::to_string(token->status),
        {{"http_status", token->status}});
  }

  const std::string base = "/latest/meta-data/iam/security-credentials/";
  Result<HttpResponse> role = Fetch("GET", base, token_value);
  if (!role.ok()) {
    if (IsTransportError(role.status())) return NotFound("no instance metadata service");
    return role.status();
  }
  if (role->status == 404) return NotFound("the instance has no IAM instance profile");
  if (role->status != 200) {
    return Status::Error(
        ErrorCode::kProviderError,
        "instance metadata role request answered HTTP " + std::to_string(role->status),
        {{"http_status", role->status}});
  }
  std::string role_name = Trim(role->body.substr(0, role->body.find('\n')));
  if (role_name.empty()) return NotFound("the instance has no IAM instance profile");

  Result<HttpResponse> creds = Fetch("GET", base + role_name, token_value);
  if (!creds.ok()) {
    return Status::Error(
        ErrorCode::kProviderError,
        "instance metadata credentials request failed: " + creds.status().message(),
        creds.status().details());
  }
  if (creds->status != 200) {
    return Status::Error(
        ErrorCode::kProviderError,
        "instance metadata credentials request answered HTTP " + std::to_string(creds->status),
        {{"http_status", creds->status}});
  }
  return ParseCredentialsJson(creds->body, "instance metadata");
}

CredentialChain::CredentialChain(std::vector<std::unique_ptr<CredentialsProvider>> sources,
                                 std::vector<std::string> source_names, const Clock* clock)
    : sources_(std::move(sources)),
      names_(std::move(source_names)),
      clock_(clock != nullptr ? clock : &system_clock_) {
  names_.resize(sources_.size(), "source");
}

Result<Credentials> CredentialChain::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_ && (credentials_.expiration == 0 ||
                  clock_->NowSeconds() < credentials_.expiration - kRefreshMarginSeconds)) {
    return credentials_;
  }
  cached_ = false;
  for (size_t i = 0; i < sources_.size(); ++i) {
    Result<Credentials> c = sources_[i]->Get();
    if (c.ok()) {
      cached_ = true;
      credentials_ = *c;
      source_ = names_[i];
      return credentials_;
    }
    if (c.status().code() != ErrorCode::kNotFound) {
      Status s = c.status();
      s.mutable_details()["credential_source"] = names_[i];
      return s;
    }
  }
  std::string tried;
  for (const auto& name : names_) tried += (tried.empty() ? "" : ", ") + name;
  return Status::Configuration("no AWS credentials found (tried: " + tried + ")");
}

std::string CredentialChain::source() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_ ? source_ : "";
}

std::unique_ptr<CredentialChain> DefaultCredentialChain(const Environment& env,
                                                        const std::string& credential_file,
                                                        const std::string& profile,
                                                        HttpTransport* transport,
                                                        const Clock* clock) {
  std::vector<std::unique_ptr<CredentialsProvider>> sources;
  std::vector<std::string> names;
  if (!credential_file.empty()) {
    sources.push_back(
        std::make_unique<CredentialFileCredentials>(ExpandHome(credential_file, env), profile));
    names.push_back("credential file " + credential_file);
    return std::make_unique<CredentialChain>(std::move(sources), std::move(names), clock);
  }

  std::string chosen = profile;
  if (chosen.empty()) chosen = EnvValue(env, "AWS_PROFILE");
  if (chosen.empty()) chosen = EnvValue(env, "AWS_DEFAULT_PROFILE");
  if (chosen.empty()) chosen = "default";
  std::string credentials_path = EnvValue(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (credentials_path.empty()) credentials_path = "~/.aws/credentials";
  std::string config_path = EnvValue(env, "AWS_CONFIG_FILE");
  if (config_path.empty()) config_path = "~/.aws/config";

  if (profile.empty()) {
    sources.push_back(std::make_unique<EnvironmentCredentials>(env));
    names.push_back("environment");
  }
  sources.push_back(std::make_unique<ProfileCredentials>(ExpandHome(credentials_path, env),
                                                         ExpandHome(config_path, env), chosen));
  names.push_back("shared files (profile " + chosen + ")");
  sources.push_back(std::make_unique<ContainerCredentials>(env, transport));
  names.push_back("container");
  sources.push_back(std::make_unique<InstanceMetadataCredentials>(env, transport));
  names.push_back("instance metadata");
  return std::make_unique<CredentialChain>(std::move(sources), std::move(names), clock);
}

}  // namespace ohfp::aws
