// An IBM-style provider directory (conf/, work/, logs/) pointed at a
// moto_server (or another loopback EC2 endpoint, such as the stand-in of
// stand_in_ec2.h), with one template per provider API, and the process specs
// that run the Host Factory scripts and the ohfp command line in it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devenv/moto.h"
#include "measured_process.h"
#include "store/store.h"

namespace ohfp::bench {

/// One provider API the benchmark drives: the template fields it needs
/// beyond the common ones. Its template id is "bench-<name>".
struct ProviderApi {
  std::string name;  // "RunInstances"
  nlohmann::json template_fields = nlohmann::json::object();
};

/// The AMI every bench template launches (one moto knows).
inline constexpr char kBenchImageId[] = "ami-0ed094fb1304fd857";
inline constexpr char kBenchInstanceType[] = "t3.micro";

/// Where ohfp sends its AWS calls, and the key it signs them with.
struct CloudEndpoint {
  std::string url;  // "http://127.0.0.1:<port>"
  std::string region;
  aws::Credentials credentials;
};

class ProviderDir {
 public:
  /// Lays out `root` (emptied first) for `store_type` ("sqlite" | "json"),
  /// pointed at `cloud`. `binary_dir` holds ohfp; `source_dir` holds scripts/.
  ProviderDir(std::string root, const CloudEndpoint& cloud, const devenv::Network& network,
              const std::string& store_type, const std::vector<ProviderApi>& apis,
              std::string binary_dir, std::string source_dir);
  /// The same, pointed at `moto`.
  ProviderDir(std::string root, const devenv::MotoServer& moto, const devenv::Network& network,
              const std::string& store_type, const std::vector<ProviderApi>& apis,
              std::string binary_dir, std::string source_dir);
  ~ProviderDir();
  ProviderDir(const ProviderDir&) = delete;
  ProviderDir& operator=(const ProviderDir&) = delete;

  /// scripts/<verb>.sh -f <file holding input> --stats, as Host Factory
  /// runs it (plus --stats, which the script passes on to ohfp).
  ProcessSpec Script(const std::string& verb, const nlohmann::json& input);
  /// ohfp <args...> --stats.
  ProcessSpec Cli(const std::vector<std::string>& args) const;
  /// A script that only execs /bin/true, run like Script(): the floor of
  /// starting any Host Factory script.
  ProcessSpec FloorScript(const nlohmann::json& input);

  /// ohfp <verb> --hostfactory -f <file holding input> under callgrind,
  /// writing its profile to `profile_path`: what the script would exec.
  ProcessSpec Profiled(const std::string& verb, const nlohmann::json& input,
                       const std::string& profile_path);

  /// Whether the next Host Factory status poll may run the periodic stray
  /// check (once per 600 s per store, after its answer). Held from the
  /// start, so measured polls are the ones Host Factory makes every ~30 s;
  /// released, the next poll runs it and holds it again.
  void HoldStrayCheck(bool hold);

  /// The store ohfp uses here, to fill or reset it directly.
  StoreOptions store_options() const;
  const std::string& root() const { return root_; }
  static std::string TemplateId(const ProviderApi& api) { return "bench-" + api.name; }

 private:
  std::string InputFile(const nlohmann::json& input);

  std::string root_;
  std::string store_type_;
  std::string binary_dir_;
  std::string source_dir_;
  EnvList env_;
  int inputs_ = 0;
};

}  // namespace ohfp::bench
