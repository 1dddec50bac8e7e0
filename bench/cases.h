// The tables the benchmark iterates over. A new Host Factory verb, provider
// API or store back end is one entry here; every section picks it up.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devenv/moto.h"
#include "provider_dir.h"
#include "raw_ec2.h"

namespace ohfp::bench {

/// A provider API: its template, and the one cloud call a launch through it
/// cannot avoid, sent raw (the instances it made go to `ids`).
struct ApiCase {
  ProviderApi api;
  std::string launch_floor_name;  // "RunInstances"
  std::function<Result<double>(RawEc2& raw, const devenv::Network& network, int count,
                               std::vector<std::string>* ids)>
      raw_launch;
};

/// What the verbs of one cycle hand on to the next: the request
/// requestMachines made, its hosts, and the instances the floor launched.
struct Cycle {
  const ApiCase* api = nullptr;
  std::string request_id;
  std::vector<std::string> machine_ids;
  std::vector<std::string> names;
  std::vector<std::string> floor_instances;
};

/// A Host Factory verb, run through its script and as a CLI command, in
/// cycle order (each may use what the ones before it made).
struct VerbCase {
  std::string verb;                                            // script name and CLI command
  std::function<nlohmann::json(const Cycle&)> input;           // the script's -f document
  std::function<std::vector<std::string>(const Cycle&)> args;  // the CLI's arguments
  std::string floor_name;  // the EC2 calls it cannot avoid ("" = none)
  std::function<Result<double>(RawEc2& raw, const devenv::Network& network, Cycle* cycle)> floor;
  /// Takes what the answer tells (request id, host names) into the cycle.
  std::function<void(const nlohmann::json& answer, Cycle* cycle)> absorb;
};

const std::vector<ApiCase>& ApiCases();
const std::vector<VerbCase>& VerbCases();
/// Store back ends, as named in config.json and StoreOptions::type.
const std::vector<std::string>& StoreBackEnds();

/// Every ApiCase's ProviderApi, for laying out a provider directory.
std::vector<ProviderApi> ProviderApis();

}  // namespace ohfp::bench
