#include "provider_dir.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "store/store_files.h"

namespace ohfp::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

void WriteFile(const std::string& path, const std::string& text, fs::perms mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  fs::permissions(path, mode);
}

const std::vector<std::string> kAwsEnvironment = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                  "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                                                  "AWS_PROFILE",       "AWS_REGION"};

}  // namespace

ProviderDir::ProviderDir(std::string root, const devenv::MotoServer& moto,
                         const devenv::Network& network, const std::string& store_type,
                         const std::vector<ProviderApi>& apis, std::string binary_dir,
                         std::string source_dir)
    : ProviderDir(std::move(root),
                  CloudEndpoint{moto.endpoint(), moto.region(), moto.credentials()}, network,
                  store_type, apis, std::move(binary_dir), std::move(source_dir)) {}

ProviderDir::ProviderDir(std::string root, const CloudEndpoint& cloud,
                         const devenv::Network& network, const std::string& store_type,
                         const std::vector<ProviderApi>& apis, std::string binary_dir,
                         std::string source_dir)
    : root_(std::move(root)),
      store_type_(store_type),
      binary_dir_(std::move(binary_dir)),
      source_dir_(std::move(source_dir)) {
  fs::remove_all(root_);
  for (const char* sub : {"conf", "work/data", "logs", "in"})
    fs::create_directories(root_ + "/" + sub);
  const std::string conf = root_ + "/conf";

  const aws::Credentials& key = cloud.credentials;
  WriteFile(conf + "/credentials",
            "[default]\naws_access_key_id = " + key.access_key_id +
                "\naws_secret_access_key = " + key.secret_access_key + "\n",
            fs::perms::owner_read | fs::perms::owner_write);

  json config = {{"AWS_REGION", cloud.region},
                 {"AWS_ENDPOINT_URL", cloud.url},
                 {"AWS_CREDENTIAL_FILE", conf + "/credentials"},
                 {"AWS_CONNECTION_TIMEOUT_MS", 2000}};
  WriteFile(conf + "/awsprov_config.json", config.dump(2), fs::perms::owner_all);

  StoreOptions store = store_options();
  json storage =
      store_type == "json"
          ? json{{"strategy", "json"},
                 {"json_strategy",
                  {{"base_path", fs::path(store.path).parent_path().string()},
                   {"filenames", {{"single_file", fs::path(store.path).filename().string()}}}}}}
          : json{{"strategy", "sql"}, {"sql_strategy", {{"type", "sqlite"}, {"name", store.path}}}};
  WriteFile(conf + "/config.json", json{{"storage", storage}}.dump(2), fs::perms::owner_all);

  json templates = json::array();
  for (const ProviderApi& api : apis) {
    json t = {{"templateId", TemplateId(api)},
              {"maxNumber", 10000},
              {"priceType", "ondemand"},
              {"providerApi", api.name},
              {"attributes", {{"type", "X86_64"}, {"ncpus", 2}, {"nram", 1024}}},
              {"imageId", kBenchImageId},
              {"vmType", kBenchInstanceType},
              {"subnetId", network.subnet_id},
              {"securityGroupIds", {network.security_group_id}},
              {"instanceTags", "cluster=bench"}};
    t.update(api.template_fields);
    templates.push_back(t);
  }
  WriteFile(conf + "/awsprov_templates.json", json{{"templates", templates}}.dump(2),
            fs::perms::owner_all);

  WriteFile(root_ + "/floor.sh", "#!/bin/sh\nexec /bin/true \"$@\"\n", fs::perms::owner_all);

  HoldStrayCheck(true);

  env_ = {{"HF_PROVIDER_NAME", "awsinst"},          {"HF_PROVIDER_CONFDIR", conf},
          {"HF_PROVIDER_WORKDIR", root_ + "/work"}, {"HF_PROVIDER_LOGDIR", root_ + "/logs"},
          {"OHFP_BIN", binary_dir_ + "/ohfp"},      {"AWS_EC2_METADATA_DISABLED", "true"}};
}

ProviderDir::~ProviderDir() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

StoreOptions ProviderDir::store_options() const {
  StoreOptions o;
  o.type = store_type_;
  o.path = root_ + "/work/data/" + (store_type_ == "json" ? "request_database.json" : "ohfp.db");
  return o;
}

void ProviderDir::HoldStrayCheck(bool hold) {
  // ohfp claims the check through its stamp (ClaimPeriodicRun in
  // src/cli/app.cc): a used stamp touched less than 600 s ago holds it. A
  // modification time a day ahead holds it for the whole run.
  const fs::path stamp = ReconcileStampPath(store_options().path);
  if (!hold) {
    fs::remove(stamp);
    return;
  }
  WriteFile(stamp.string(), "x", fs::perms::owner_read | fs::perms::owner_write);
  fs::last_write_time(stamp, fs::file_time_type::clock::now() + std::chrono::hours(24));
}

std::string ProviderDir::InputFile(const json& input) {
  // Host Factory writes a new input file for every call; so does the bench,
  // cycling through a few names so the directory stays small.
  std::string path = root_ + "/in/input-" + std::to_string(inputs_++ % 16) + ".json";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << input.dump();
  return path;
}

ProcessSpec ProviderDir::Script(const std::string& verb, const json& input) {
  ProcessSpec spec;
  spec.argv = {source_dir_ + "/scripts/" + verb + ".sh", "-f", InputFile(input), "--stats"};
  spec.env = env_;
  spec.unset_env = kAwsEnvironment;
  return spec;
}

ProcessSpec ProviderDir::FloorScript(const json& input) {
  ProcessSpec spec;
  spec.argv = {root_ + "/floor.sh", "-f", InputFile(input), "--stats"};
  spec.env = env_;
  spec.unset_env = kAwsEnvironment;
  return spec;
}

ProcessSpec ProviderDir::Profiled(const std::string& verb, const json& input,
                                  const std::string& profile_path) {
  ProcessSpec spec;
  spec.argv = {"valgrind",
               "--tool=callgrind",
               "--callgrind-out-file=" + profile_path,
               binary_dir_ + "/ohfp",
               verb,
               "--hostfactory",
               "-f",
               InputFile(input),
               "--stats"};
  spec.env = env_;
  spec.unset_env = kAwsEnvironment;
  return spec;
}

ProcessSpec ProviderDir::Cli(const std::vector<std::string>& args) const {
  ProcessSpec spec;
  spec.argv = {binary_dir_ + "/ohfp"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.argv.push_back("--stats");
  spec.env = env_;
  spec.unset_env = kAwsEnvironment;
  return spec;
}

}  // namespace ohfp::bench
