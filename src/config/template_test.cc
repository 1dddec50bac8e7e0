#include "config/template.h"
#include "support/scratch_dir.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ohfp {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

using testsupport::ScratchDir;

// The smallest valid on-demand template in the Host Factory convention.
json Minimal() {
  return json::parse(R"({
    "templateId": "t1", "maxNumber": 10,
    "attributes": {"type": ["String", "X86_64"], "ncpus": ["Numeric", "2"],
                   "nram": ["Numeric", "4096"]},
    "imageId": "ami-0123456789abcdef0", "vmType": "m5.large"})");
}

json With(json t, const std::string& key, json value) {
  t[key] = std::move(value);
  return t;
}

json Without(json t, const std::string& key) {
  t.erase(key);
  return t;
}

// Expects `t` to be rejected with a message that names the template and
// every one of `words`.
void ExpectRejected(const json& t, std::initializer_list<std::string> words) {
  Result<Template> r = ParseTemplate(t);
  ASSERT_FALSE(r.ok()) << t.dump();
  EXPECT_EQ(r.status().code(), ErrorCode::kConfigurationError);
  if (t.contains("templateId") && t["templateId"].is_string()) {
    EXPECT_THAT(r.status().message(), HasSubstr(t["templateId"].get<std::string>()));
  }
  for (const std::string& w : words) EXPECT_THAT(r.status().message(), HasSubstr(w));
}

constexpr const char* kContractDocument = R"({ "templates": [
  { "templateId": "od-m5-xlarge", "maxNumber": 40, "priceType": "ondemand",
    "attributes": { "type": "X86_64", "ncpus": 2, "nram": 16384 },
    "imageId": "ami-0123456789abcdef0", "vmType": "m5.xlarge",
    "subnetId": "subnet-0aa11bb22cc33dd44", "securityGroupIds": ["sg-0123abcd"],
    "keyName": "symphony-key",
    "instanceProfile": "arn:aws:iam::111122223333:instance-profile/sym-compute",
    "rootDeviceVolumeSize": 60, "instanceTags": "team=risk;env=prod",
    "userDataScript": "postprovision/join_cluster.sh" },
  { "templateId": "spot-c5-mix", "maxNumber": 100, "priceType": "spot",
    "attributes": { "type": ["String", "X86_64"], "ncpus": ["Numeric", "4"],
                    "nram": ["Numeric", "8192"] },
    "imageId": "ami-0123456789abcdef0",
    "subnetId": ["subnet-0aa11bb22cc33dd44", "subnet-0ee55ff66aa77bb88"],
    "vmTypes": { "c5.2xlarge": 1, "c5.4xlarge": 2 },
    "fleetRole": "arn:aws:iam::111122223333:role/aws-ec2-spot-fleet-tagging-role",
    "allocationStrategy": "capacityOptimized", "spotFleetRequestExpiry": 30 } ] })";

TEST(ParseTemplatesTest, ContractIbmExamplesParse) {
  Result<TemplateSet> set = ParseTemplates(json::parse(kContractDocument));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE(set->rejected.empty()) << set->rejected[0];
  ASSERT_EQ(set->templates.size(), 2u);

  const Template& od = set->templates[0];
  EXPECT_EQ(od.template_id, "od-m5-xlarge");
  EXPECT_EQ(od.max_number, 40);
  EXPECT_EQ(od.price_type, "ondemand");
  EXPECT_EQ(od.provider_api, "RunInstances");
  EXPECT_EQ(od.fleet_type, "");
  EXPECT_EQ(od.attributes.at("type"), (TemplateAttribute{"String", "X86_64"}));
  EXPECT_EQ(od.attributes.at("ncpus"), (TemplateAttribute{"Numeric", "2"}));
  EXPECT_EQ(od.attributes.at("nram"), (TemplateAttribute{"Numeric", "16384"}));
  EXPECT_EQ(od.image_id, "ami-0123456789abcdef0");
  EXPECT_EQ(od.vm_type, "m5.xlarge");
  EXPECT_EQ(od.subnet_ids, std::vector<std::string>{"subnet-0aa11bb22cc33dd44"});
  EXPECT_EQ(od.security_group_ids, std::vector<std::string>{"sg-0123abcd"});
  EXPECT_EQ(od.key_name, "symphony-key");
  EXPECT_EQ(od.instance_profile, "arn:aws:iam::111122223333:instance-profile/sym-compute");
  EXPECT_EQ(od.root_device_volume_size, 60);
  EXPECT_EQ(FormatInstanceTags(od.instance_tags), "team=risk;env=prod");
  EXPECT_EQ(od.user_data_script, "postprovision/join_cluster.sh");
  EXPECT_TRUE(od.extras.empty());

  const Template& spot = set->templates[1];
  EXPECT_EQ(spot.price_type, "spot");
  EXPECT_EQ(spot.provider_api, "SpotFleet");
  EXPECT_EQ(spot.fleet_type, "request");
  EXPECT_EQ(spot.subnet_ids.size(), 2u);
  EXPECT_EQ(spot.vm_types, (std::map<std::string, int64_t>{{"c5.2xlarge", 1}, {"c5.4xlarge", 2}}));
  EXPECT_EQ(spot.vm_type, "");
  EXPECT_EQ(spot.fleet_role, "arn:aws:iam::111122223333:role/aws-ec2-spot-fleet-tagging-role");
  EXPECT_EQ(spot.allocation_strategy, "capacityOptimized");
  EXPECT_EQ(spot.spot_fleet_request_expiry, 30);
}

TEST(ParseTemplatesTest, ContractAwslabsExampleParsesInBothConventions) {
  json camel = json::parse(R"({ "templateId": "fleet-instant-spot", "providerApi": "EC2Fleet",
    "fleetType": "instant", "maxNumber": 50, "priceType": "spot", "percentOnDemand": 20,
    "attributes": { "type": ["String", "X86_64"], "ncpus": ["Numeric", "8"],
                    "nram": ["Numeric", "32768"] },
    "imageId": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
    "subnetId": "subnet-0aa11bb22cc33dd44", "vmTypes": { "r5.2xlarge": 1, "r6i.2xlarge": 1 } })");
  json snake = json::parse(R"({ "scheduler_type": "default", "templates": [
    { "template_id": "fleet-instant-spot", "provider_api": "EC2Fleet", "fleet_type": "instant",
      "max_instances": 50, "price_type": "spot", "percent_on_demand": 20,
      "attributes": { "type": ["String", "X86_64"], "ncpus": ["Numeric", "8"],
                      "nram": ["Numeric", "32768"] },
      "image_id": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
      "subnet_ids": ["subnet-0aa11bb22cc33dd44"],
      "machine_types": { "r5.2xlarge": 1, "r6i.2xlarge": 1 } } ] })");

  Result<Template> a = ParseTemplate(camel);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Result<TemplateSet> set = ParseTemplates(snake);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->templates.size(), 1u) << set->rejected[0];
  EXPECT_EQ(set->scheduler_type, "default");
  const Template& b = set->templates[0];

  for (const Template* t : std::initializer_list<const Template*>{&*a, &b}) {
    EXPECT_EQ(t->template_id, "fleet-instant-spot");
    EXPECT_EQ(t->provider_api, "EC2Fleet");
    EXPECT_EQ(t->fleet_type, "instant");
    EXPECT_EQ(t->max_number, 50);
    EXPECT_EQ(t->price_type, "spot");
    EXPECT_EQ(t->percent_on_demand, 20);
    EXPECT_EQ(t->image_id, "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64");
    EXPECT_EQ(t->subnet_ids, std::vector<std::string>{"subnet-0aa11bb22cc33dd44"});
    EXPECT_EQ(t->vm_types.size(), 2u);
    EXPECT_EQ(t->attributes.at("nram").value, "32768");
    EXPECT_TRUE(t->extras.empty()) << t->extras.dump();
  }
}

TEST(ParseTemplateTest, ReadsEveryHostFactoryKey) {
  json t = json::parse(R"({
    "templateId": "all-camel", "maxNumber": "-1", "priceType": "heterogeneous",
    "attributes": {"type": "X86_64", "ncpus": "4", "nram": 8192},
    "imageId": "ami-1", "subnetId": "subnet-a, subnet-b ,", "vmType": "m5.large",
    "vmTypes": {"c5.large": 1, "c5.xlarge": "2"}, "vmTypesOnDemand": {"m5.large": 1},
    "vmTypesPriority": {"c5.large": 0, "c5.xlarge": 1},
    "rootDeviceVolumeSize": "100", "volumeType": "io2", "iops": 3000,
    "instanceTags": {"team": "risk"}, "keyName": "k", "securityGroupIds": ["sg-1", "sg-2"],
    "instanceProfile": "prof", "userDataScript": "#!/bin/sh\necho hi",
    "fleetRole": "arn:role", "maxSpotPrice": "0.25", "spotFleetRequestExpiry": 45,
    "allocationStrategy": "lowestPrice", "allocationStrategyOnDemand": "prioritized",
    "percentOnDemand": 30, "poolsCount": 3, "launchTemplateId": "lt-1",
    "launchTemplateVersion": 4, "providerApi": "SpotFleet", "fleetType": "request"})");
  Result<Template> r = ParseTemplate(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->max_number, -1);
  EXPECT_EQ(r->price_type, "heterogeneous");
  EXPECT_EQ(r->attributes.at("ncpus"), (TemplateAttribute{"Numeric", "4"}));
  EXPECT_EQ(r->subnet_ids, (std::vector<std::string>{"subnet-a", "subnet-b"}));
  EXPECT_EQ(r->vm_type, "m5.large");
  EXPECT_EQ(r->vm_types.at("c5.xlarge"), 2);
  EXPECT_EQ(r->vm_types_on_demand.at("m5.large"), 1);
  EXPECT_EQ(r->vm_types_priority.at("c5.large"), 0);
  EXPECT_EQ(r->root_device_volume_size, 100);
  EXPECT_EQ(r->volume_type, "io2");
  EXPECT_EQ(r->iops, 3000);
  EXPECT_EQ(FormatInstanceTags(r->instance_tags), "team=risk");
  EXPECT_EQ(r->key_name, "k");
  EXPECT_EQ(r->security_group_ids, (std::vector<std::string>{"sg-1", "sg-2"}));
  EXPECT_EQ(r->instance_profile, "prof");
  EXPECT_EQ(r->user_data_script, "#!/bin/sh\necho hi");
  EXPECT_EQ(r->fleet_role, "arn:role");
  EXPECT_DOUBLE_EQ(r->max_spot_price, 0.25);
  EXPECT_EQ(r->spot_fleet_request_expiry, 45);
  EXPECT_EQ(r->allocation_strategy, "lowestPrice");
  EXPECT_EQ(r->allocation_strategy_on_demand, "prioritized");
  EXPECT_EQ(r->percent_on_demand, 30);
  EXPECT_EQ(r->pools_count, 3);
  EXPECT_EQ(r->launch_template_id, "lt-1");
  EXPECT_EQ(r->launch_template_version, "4");
  EXPECT_EQ(r->provider_api, "SpotFleet");
  EXPECT_EQ(r->fleet_type, "request");
  EXPECT_TRUE(r->extras.empty()) << r->extras.dump();
}

TEST(ParseTemplateTest, ReadsEverySnakeCaseKey) {
  json t = json::parse(R"({
    "template_id": "all-snake", "max_instances": 7, "price_type": "spot",
    "attributes": {"type": ["String", "X86_64"], "ncpus": ["Numeric", "1"],
                   "nram": ["Numeric", "1024"]},
    "image_id": "ami-2", "subnet_ids": ["subnet-c"], "instance_type": "t3.micro",
    "machine_types": {"t3.micro": 1, "t3.small": 2}, "machine_types_ondemand": {"t3.micro": 1},
    "machine_types_priority": {"t3.micro": 2}, "root_device_volume_size": 20,
    "volume_type": "gp3", "iops": 4000, "tags": "a=1;b=2", "key_name": "kn",
    "security_group_ids": "sg-9,sg-8", "instance_profile": "ip", "user_data": "/opt/ud.sh",
    "fleet_role": "arn:fr", "max_price": 0.5, "spot_fleet_request_expiry": 10,
    "allocation_strategy": "priceCapacityOptimized",
    "allocation_strategy_on_demand": "lowestPrice", "percent_on_demand": 5, "pools_count": 2,
    "launch_template_id": "lt-2", "launch_template_version": "$Latest",
    "provider_api": "EC2Fleet", "fleet_type": "request"})");
  Result<Template> r = ParseTemplate(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->template_id, "all-snake");
  EXPECT_EQ(r->max_number, 7);
  EXPECT_EQ(r->price_type, "spot");
  EXPECT_EQ(r->image_id, "ami-2");
  EXPECT_EQ(r->subnet_ids, std::vector<std::string>{"subnet-c"});
  EXPECT_EQ(r->vm_type, "t3.micro");
  EXPECT_EQ(r->vm_types.size(), 2u);
  EXPECT_EQ(r->vm_types_on_demand.size(), 1u);
  EXPECT_EQ(r->vm_types_priority.at("t3.micro"), 2);
  EXPECT_EQ(r->root_device_volume_size, 20);
  EXPECT_EQ(r->volume_type, "gp3");
  EXPECT_EQ(r->iops, 4000);
  EXPECT_EQ(FormatInstanceTags(r->instance_tags), "a=1;b=2");
  EXPECT_EQ(r->key_name, "kn");
  EXPECT_EQ(r->security_group_ids, (std::vector<std::string>{"sg-9", "sg-8"}));
  EXPECT_EQ(r->instance_profile, "ip");
  EXPECT_EQ(r->user_data_script, "/opt/ud.sh");
  EXPECT_EQ(r->fleet_role, "arn:fr");
  EXPECT_DOUBLE_EQ(r->max_spot_price, 0.5);
  EXPECT_EQ(r->spot_fleet_request_expiry, 10);
  EXPECT_EQ(r->allocation_strategy, "priceCapacityOptimized");
  EXPECT_EQ(r->allocation_strategy_on_demand, "lowestPrice");
  EXPECT_EQ(r->percent_on_demand, 5);
  EXPECT_EQ(r->pools_count, 2);
  EXPECT_EQ(r->launch_template_id, "lt-2");
  EXPECT_EQ(r->launch_template_version, "$Latest");
  EXPECT_EQ(r->provider_api, "EC2Fleet");
  EXPECT_EQ(r->fleet_type, "request");
  EXPECT_TRUE(r->extras.empty()) << r->extras.dump();
}

TEST(ParseTemplateTest, DefaultsWhenOptionalKeysAreAbsent) {
  Result<Template> r = ParseTemplate(Minimal());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->price_type, "ondemand");
  EXPECT_EQ(r->provider_api, "RunInstances");
  EXPECT_EQ(r->fleet_type, "");
  EXPECT_EQ(r->spot_fleet_request_expiry, 30);
  EXPECT_EQ(r->root_device_volume_size, 0);
  EXPECT_TRUE(r->instance_tags.empty());
}

TEST(ParseTemplateTest, NullValuesCountAsAbsent) {
  Result<Template> r = ParseTemplate(With(With(Minimal(), "keyName", nullptr), "iops", nullptr));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->key_name, "");
  EXPECT_FALSE(r->extras.contains("keyName"));
}

TEST(ParseTemplateTest, EnumerationsAcceptOtherSpellings) {
  json t = With(With(With(Minimal(), "providerApi", "ec2fleet"), "priceType", "SPOT"),
                "allocationStrategy", "capacity-optimized-prioritized");
  t = With(With(t, "fleetType", "Instant"), "volumeType", "GP3");
  Result<Template> r = ParseTemplate(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->provider_api, "EC2Fleet");
  EXPECT_EQ(r->price_type, "spot");
  EXPECT_EQ(r->allocation_strategy, "capacityOptimizedPrioritized");
  EXPECT_EQ(r->fleet_type, "instant");
  EXPECT_EQ(r->volume_type, "gp3");
}

TEST(ParseTemplateTest, FleetApisDefaultToRequestFleets) {
  Result<Template> r =
      ParseTemplate(With(With(Minimal(), "providerApi", "EC2Fleet"), "priceType", "ondemand"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->fleet_type, "request");
}

TEST(ParseTemplateTest, SingleMachineTypeBecomesVmTypeForOnDemand) {
  json t = Without(Minimal(), "vmType");
  t["machine_types"] = {{"m5.large", 1}};
  Result<Template> r = ParseTemplate(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->vm_type, "m5.large");
}

TEST(ParseTemplateTest, NumbersMayBeStrings) {
  Result<Template> r = ParseTemplate(With(Minimal(), "maxNumber", "40"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->max_number, 40);
  r = ParseTemplate(With(Minimal(), "maxNumber", " 12 "));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_number, 12);
  r = ParseTemplate(With(Minimal(), "maxNumber", 30.0));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_number, 30);
}

TEST(ParseTemplateTest, RejectsNonNumericNumbers) {
  ExpectRejected(With(Minimal(), "maxNumber", "forty"), {"maxNumber", "integer", "forty"});
  ExpectRejected(With(Minimal(), "maxNumber", 2.5), {"maxNumber", "integer"});
  ExpectRejected(With(Minimal(), "rootDeviceVolumeSize", true), {"rootDeviceVolumeSize"});
  ExpectRejected(With(Minimal(), "maxSpotPrice", "cheap"), {"maxSpotPrice", "number"});
}

TEST(ParseTemplateTest, RejectsWronglyTypedStrings) {
  ExpectRejected(With(Minimal(), "imageId", 5), {"imageId", "must be a string"});
  ExpectRejected(With(Minimal(), "securityGroupIds", json::array({1})), {"securityGroupIds"});
}

TEST(ParseTemplateTest, AttributesPlainValuesAreNormalised) {
  json t = With(Minimal(), "attributes",
                json::parse(R"({"type": "X86_64", "ncpus": 2, "nram": "16384", "ncores": "1",
                                "rank": 3, "priceInfo": "price:0.1,billingTimeUnitType:hour",
                                "zone": "eu", "ratio": 0.5})"));
  Result<Template> r = ParseTemplate(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attributes.size(), 8u);
  EXPECT_EQ(r->attributes.at("type"), (TemplateAttribute{"String", "X86_64"}));
  EXPECT_EQ(r->attributes.at("ncpus"), (TemplateAttribute{"Numeric", "2"}));
  EXPECT_EQ(r->attributes.at("nram"), (TemplateAttribute{"Numeric", "16384"}));
  EXPECT_EQ(r->attributes.at("ncores"), (TemplateAttribute{"Numeric", "1"}));
  EXPECT_EQ(r->attributes.at("rank"), (TemplateAttribute{"Numeric", "3"}));
  EXPECT_EQ(r->attributes.at("priceInfo"),
            (TemplateAttribute{"String", "price:0.1,billingTimeUnitType:hour"}));
  EXPECT_EQ(r->attributes.at("zone"), (TemplateAttribute{"String", "eu"}));
  EXPECT_EQ(r->attributes.at("ratio"), (TemplateAttribute{"Numeric", "0.5"}));
}

TEST(ParseTemplateTest, AttributeTypeStaysStringEvenWhenNumericLooking) {
  json t = Minimal();
  t["attributes"]["type"] = "64";
  Result<Template> r = ParseTemplate(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attributes.at("type"), (TemplateAttribute{"String", "64"}));
}

TEST(ParseTemplateTest, AttributePairsKeepTheirKindAndStringifyValues) {
  json t = Minimal();
  t["attributes"]["ncores"] = json::array({"numeric", 4});
  t["attributes"]["label"] = json::array({"String", "123"});
  t["attributes"]["legacy"] = json::array({"4096"});
  Result<Template> r = ParseTemplate(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attributes.at("ncores"), (TemplateAttribute{"Numeric", "4"}));
  EXPECT_EQ(r->attributes.at("label"), (TemplateAttribute{"String", "123"}));
  EXPECT_EQ(r->attributes.at("legacy"), (TemplateAttribute{"Numeric", "4096"}));
}

TEST(ParseTemplateTest, RejectsMalformedAttributes) {
  json t = Minimal();
  t["attributes"]["x"] = json::array({"Boolean", "1"});
  ExpectRejected(t, {"attribute 'x'", "String or Numeric"});
  t = Minimal();
  t["attributes"]["x"] = json::array({"Numeric", "many"});
  ExpectRejected(t, {"attribute 'x'", "Numeric", "not a number"});
  t = Minimal();
  t["attributes"]["x"] = true;
  ExpectRejected(t, {"attribute 'x'"});
  t = Minimal();
  t["attributes"]["x"] = json::array({"String", "a", "b"});
  ExpectRejected(t, {"attribute 'x'", "[kind, value]"});
  ExpectRejected(With(Minimal(), "attributes", "type=X86_64"), {"attributes", "object"});
}

TEST(ParseTemplateTest, UnknownKeysArePassedThroughVerbatim) {
  json t = Minimal();
  t["pgrpName"] = nullptr;
  t["onDemandCapacity"] = 0;
  t["description"] = "risk grid";
  t["provider_api_spec"] = {{"TagSpecifications", json::array()}};
  Result<Template> r = ParseTemplate(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->extras, json::parse(R"({"pgrpName": null, "onDemandCapacity": 0,
      "description": "risk grid", "provider_api_spec": {"TagSpecifications": []}})"));
}

TEST(ParseTemplateTest, SubnetsInEveryForm) {
  auto subnets = [](json t) {
    Result<Template> r = ParseTemplate(t);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->subnet_ids : std::vector<std::string>{};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(subnets(With(Minimal(), "subnetId", "subnet-1")), V{"subnet-1"});
  EXPECT_EQ(subnets(With(Minimal(), "subnetId", "subnet-1,subnet-2")), (V{"subnet-1", "subnet-2"}));
  EXPECT_EQ(subnets(With(Minimal(), "subnetId", json::array({"subnet-1", "subnet-2"}))),
            (V{"subnet-1", "subnet-2"}));
  EXPECT_EQ(subnets(With(Minimal(), "subnetIds", json::array({"subnet-3"}))), V{"subnet-3"});
  EXPECT_EQ(subnets(With(Minimal(), "subnet_ids", json::array({"subnet-4"}))), V{"subnet-4"});
}

TEST(ParseTemplateTest, RejectsTwoSpellingsOfOneField) {
  ExpectRejected(
      With(With(Minimal(), "subnetId", "subnet-1"), "subnetIds", json::array({"subnet-2"})),
      {"subnetId", "subnetIds", "both"});
  ExpectRejected(With(Minimal(), "max_instances", 3), {"maxNumber", "max_instances", "both"});
}

// --- One test per validation rule of the contract (section 3.4). ---

TEST(TemplateValidationTest, TemplateIdMissing) {
  Result<Template> r = ParseTemplate(Without(Minimal(), "templateId"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("templateId"));
  EXPECT_THAT(r.status().message(), HasSubstr("required"));

  Result<TemplateSet> set =
      ParseTemplates(json::array({Minimal(), Without(Minimal(), "templateId")}));
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->rejected.size(), 1u);
  EXPECT_THAT(set->rejected[0], HasSubstr("index 1"));
  EXPECT_THAT(set->rejected[0], HasSubstr("templateId"));
}

TEST(TemplateValidationTest, TemplateIdInvalid) {
  for (json id :
       {json("has space"), json("slash/id"), json(""), json(42), json(std::string(65, 'a'))}) {
    Result<Template> r = ParseTemplate(With(Minimal(), "templateId", id));
    ASSERT_FALSE(r.ok()) << id.dump();
    EXPECT_THAT(r.status().message(), HasSubstr("[0-9A-Za-z_-]"));
    EXPECT_THAT(r.status().message(), HasSubstr("1..64"));
  }
  EXPECT_TRUE(ParseTemplate(With(Minimal(), "templateId", std::string(64, 'a'))).ok());
  EXPECT_TRUE(ParseTemplate(With(Minimal(), "templateId", "Az_09-x")).ok());
}

TEST(TemplateValidationTest, TemplateIdDuplicate) {
  json second = With(Minimal(), "maxNumber", 99);
  Result<TemplateSet> set = ParseTemplates(json{{"templates", {Minimal(), second}}});
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->templates.size(), 1u);
  EXPECT_EQ(set->templates[0].max_number, 10);  // the first one wins
  ASSERT_EQ(set->rejected.size(), 1u);
  EXPECT_THAT(set->rejected[0], HasSubstr("'t1'"));
  EXPECT_THAT(set->rejected[0], HasSubstr("duplicate templateId"));
}

TEST(TemplateValidationTest, MaxNumberMissing) {
  ExpectRejected(Without(Minimal(), "maxNumber"), {"maxNumber", "required"});
}

TEST(TemplateValidationTest, MaxNumberOutOfRange) {
  ExpectRejected(With(Minimal(), "maxNumber", 10001), {"maxNumber", "10001", "-1..10000"});
  ExpectRejected(With(Minimal(), "maxNumber", -2), {"maxNumber", "-2", "-1..10000"});
  ExpectRejected(With(Without(Minimal(), "maxNumber"), "max_instances", 20000),
                 {"max_instances", "-1..10000"});
  for (int n : {-1, 0, 10000}) {
    EXPECT_TRUE(ParseTemplate(With(Minimal(), "maxNumber", n)).ok()) << n;
  }
}

TEST(TemplateValidationTest, AttributesMissing) {
  ExpectRejected(Without(Minimal(), "attributes"), {"attributes", "required"});
}

TEST(TemplateValidationTest, AttributesLackTypeNcpusOrNram) {
  for (const char* name : {"type", "ncpus", "nram"}) {
    json t = Minimal();
    t["attributes"].erase(name);
    ExpectRejected(t, {"attributes must include", name});
  }
}

TEST(TemplateValidationTest, AttributesNcpusOrNramNotPositive) {
  for (const char* name : {"ncpus", "nram"}) {
    for (json bad :
         {json(0), json(-4), json::array({"Numeric", "0"}), json::array({"String", "2"})}) {
      json t = Minimal();
      t["attributes"][name] = bad;
      ExpectRejected(t, {std::string("attribute '") + name + "'", "positive number"});
    }
  }
}

TEST(TemplateValidationTest, AttributeTypeNotString) {
  json t = Minimal();
  t["attributes"]["type"] = json::array({"Numeric", "64"});
  ExpectRejected(t, {"attribute 'type'", "String"});
}

TEST(TemplateValidationTest, ImageIdMissing) {
  ExpectRejected(Without(Minimal(), "imageId"), {"imageId", "required"});
  json lt = With(Without(Minimal(), "imageId"), "launchTemplateId", "lt-0abc");
  EXPECT_TRUE(ParseTemplate(lt).ok());
}

TEST(TemplateValidationTest, NoInstanceType) {
  ExpectRejected(Without(Minimal(), "vmType"), {"no instance type"});
  json abis = With(Without(Minimal(), "vmType"), "abisInstanceRequirements",
                   json::parse(R"({"VCpuCount": {"Min": 2}, "MemoryMiB": {"Min": 4096}})"));
  Result<Template> r = ParseTemplate(abis);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->extras.contains("abisInstanceRequirements"));
  EXPECT_TRUE(ParseTemplate(With(Without(Minimal(), "vmType"), "launchTemplateId", "lt-1")).ok());
  EXPECT_TRUE(ParseTemplate(With(Without(Minimal(), "vmType"), "vmTypes",
                                 json{{"m5.large", 1}, {"m5.xlarge", 2}}))
                  .ok());
}

TEST(TemplateValidationTest, AbisWithoutVcpuOrMemory) {
  ExpectRejected(With(Without(Minimal(), "vmType"), "abisInstanceRequirements",
                      json::parse(R"({"VCpuCount": {"Min": 2}})")),
                 {"abisInstanceRequirements", "MemoryMiB"});
}

TEST(TemplateValidationTest, SpotFleetWithoutFleetRole) {
  json t = With(Minimal(), "priceType", "spot");
  t["vmTypes"] = {{"c5.large", 1}};
  ExpectRejected(t, {"fleetRole", "required", "SpotFleet"});
  ExpectRejected(With(t, "priceType", "heterogeneous"), {"fleetRole", "required"});
  EXPECT_TRUE(ParseTemplate(With(t, "fleetRole", "arn:aws:iam::1:role/r")).ok());
  // EC2 Fleet does not need one.
  EXPECT_TRUE(ParseTemplate(With(t, "providerApi", "EC2Fleet")).ok());
}

TEST(TemplateValidationTest, PercentOnDemandOutOfRange) {
  ExpectRejected(With(Minimal(), "percentOnDemand", 101), {"percentOnDemand", "0..100"});
  ExpectRejected(With(Minimal(), "percentOnDemand", -1), {"percentOnDemand", "0..100"});
  EXPECT_TRUE(ParseTemplate(With(Minimal(), "percentOnDemand", 100)).ok());
}

TEST(TemplateValidationTest, RootDeviceVolumeSizeOutOfRange) {
  ExpectRejected(With(Minimal(), "rootDeviceVolumeSize", 0), {"rootDeviceVolumeSize", "1..16384"});
  ExpectRejected(With(Minimal(), "rootDeviceVolumeSize", 16385),
                 {"rootDeviceVolumeSize", "1..16384"});
  EXPECT_TRUE(ParseTemplate(With(Minimal(), "rootDeviceVolumeSize", 16384)).ok());
}

TEST(TemplateValidationTest, IopsOutOfRange) {
  json io1 = With(Minimal(), "volumeType", "io1");
  ExpectRejected(With(io1, "iops", 99), {"iops", "100..64000"});
  ExpectRejected(With(io1, "iops", 64001), {"iops", "100..64000"});
  EXPECT_TRUE(ParseTemplate(With(io1, "iops", 64000)).ok());
}

TEST(TemplateValidationTest, IopsWithVolumeTypeThatTakesNone) {
  ExpectRejected(With(With(Minimal(), "volumeType", "gp2"), "iops", 500),
                 {"iops", "volumeType", "gp2"});
  ExpectRejected(With(With(Minimal(), "volumeType", "standard"), "iops", 500), {"iops"});
  ExpectRejected(With(Minimal(), "iops", 500), {"iops", "volumeType"});
}

TEST(TemplateValidationTest, WeightsNotPositiveIntegers) {
  for (json bad : {json(0), json(-1), json("x"), json(1.5)}) {
    json t = With(With(Minimal(), "providerApi", "EC2Fleet"), "priceType", "spot");
    t["vmTypes"] = {{"c5.large", bad}};
    ExpectRejected(t, {"vmTypes", "c5.large", "positive integer"});
    json od = Minimal();
    od["vmTypesOnDemand"] = {{"m5.large", bad}};
    ExpectRejected(od, {"vmTypesOnDemand", "positive integer"});
  }
  ExpectRejected(With(Minimal(), "vmTypesPriority", json{{"m5.large", -1}}),
                 {"vmTypesPriority", "non-negative integer"});
  ExpectRejected(With(Minimal(), "vmTypes", "c5.large"), {"vmTypes"});
}

TEST(TemplateValidationTest, UnknownPriceType) {
  ExpectRejected(With(Minimal(), "priceType", "reserved"), {"unknown priceType", "reserved"});
}

TEST(TemplateValidationTest, UnknownProviderApi) {
  ExpectRejected(With(Minimal(), "providerApi", "Lambda"), {"unknown providerApi", "Lambda"});
}

TEST(TemplateValidationTest, UnknownFleetType) {
  ExpectRejected(With(With(Minimal(), "providerApi", "EC2Fleet"), "fleetType", "forever"),
                 {"unknown fleetType", "forever"});
}

TEST(TemplateValidationTest, UnknownAllocationStrategy) {
  ExpectRejected(With(Minimal(), "allocationStrategy", "cheapest"),
                 {"unknown allocationStrategy", "cheapest"});
  ExpectRejected(With(Minimal(), "allocationStrategyOnDemand", "diversified"),
                 {"unknown allocationStrategyOnDemand", "diversified"});
}

TEST(TemplateValidationTest, UnknownVolumeType) {
  ExpectRejected(With(Minimal(), "volumeType", "sc9"), {"unknown volumeType", "sc9"});
}

TEST(TemplateValidationTest, UnsupportedCombinations) {
  json spot = With(With(Minimal(), "priceType", "spot"), "fleetRole", "arn:r");
  ExpectRejected(With(With(spot, "priceType", "heterogeneous"), "providerApi", "RunInstances"),
                 {"RunInstances", "heterogeneous", "unsupported combination"});
  ExpectRejected(With(spot, "providerApi", "ASG"), {"ASG", "spot", "unsupported combination"});
  ExpectRejected(With(With(Minimal(), "providerApi", "EC2Fleet"), "fleetType", "maintain"),
                 {"EC2Fleet", "maintain", "unsupported combination"});
  ExpectRejected(With(With(spot, "providerApi", "SpotFleet"), "fleetType", "instant"),
                 {"SpotFleet", "instant", "unsupported combination"});
  ExpectRejected(With(Minimal(), "fleetType", "request"), {"fleetType", "RunInstances"});

  // What the table allows.
  EXPECT_TRUE(ParseTemplate(With(spot, "providerApi", "RunInstances")).ok());
  EXPECT_TRUE(ParseTemplate(With(Minimal(), "providerApi", "ASG")).ok());
  EXPECT_TRUE(
      ParseTemplate(With(With(spot, "providerApi", "EC2Fleet"), "fleetType", "instant")).ok());
  EXPECT_TRUE(
      ParseTemplate(With(With(Minimal(), "providerApi", "SpotFleet"), "fleetType", "request"))
          .ok());
}

TEST(TemplateValidationTest, LaunchTemplateVersionInvalid) {
  json lt = With(Minimal(), "launchTemplateId", "lt-1");
  for (json bad : {json("latest"), json(0), json("-1"), json("1.5"), json("")}) {
    ExpectRejected(With(lt, "launchTemplateVersion", bad),
                   {"launchTemplateVersion", "$Latest, $Default or a positive integer"});
  }
  for (json good : {json("$Latest"), json("$Default"), json(3), json("12")}) {
    EXPECT_TRUE(ParseTemplate(With(lt, "launchTemplateVersion", good)).ok()) << good.dump();
  }
}

TEST(TemplateValidationTest, OtherNumericBounds) {
  ExpectRejected(With(Minimal(), "poolsCount", 0), {"poolsCount", "positive"});
  ExpectRejected(With(Minimal(), "maxSpotPrice", 0), {"maxSpotPrice", "positive"});
  ExpectRejected(With(Minimal(), "spotFleetRequestExpiry", 0), {"spotFleetRequestExpiry"});
}

TEST(TemplateValidationTest, BadInstanceTagsNameTheKey) {
  ExpectRejected(With(Minimal(), "instanceTags", "aws:cost=1"), {"instanceTags", "aws:"});
  ExpectRejected(With(Minimal(), "tags", "ohfp:x=1"), {"tags", "ohfp:"});
}

// --- Documents ---

TEST(ParseTemplatesTest, AcceptsABareArray) {
  Result<TemplateSet> set = ParseTemplates(json::array({Minimal()}));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->templates.size(), 1u);
  EXPECT_EQ(set->scheduler_type, "");
}

TEST(ParseTemplatesTest, KeepsValidTemplatesInFileOrder) {
  json doc = json::array({With(Minimal(), "templateId", "b"), With(Minimal(), "maxNumber", "x"),
                          With(Minimal(), "templateId", "a"), 7});
  Result<TemplateSet> set = ParseTemplates(doc);
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->templates.size(), 2u);
  EXPECT_EQ(set->templates[0].template_id, "b");
  EXPECT_EQ(set->templates[1].template_id, "a");
  ASSERT_EQ(set->rejected.size(), 2u);
  EXPECT_THAT(set->rejected[0], HasSubstr("template 't1': maxNumber"));
  EXPECT_THAT(set->rejected[1], HasSubstr("index 3"));
  EXPECT_THAT(set->rejected[1], HasSubstr("not a JSON object"));
}

TEST(ParseTemplatesTest, RejectsMalformedDocuments) {
  for (json doc : {json(5), json::object(), json{{"templates", "x"}},
                   json{{"templates", json::array()}, {"scheduler_type", "slurm"}}}) {
    Result<TemplateSet> set = ParseTemplates(doc);
    ASSERT_FALSE(set.ok()) << doc.dump();
    EXPECT_EQ(set.status().code(), ErrorCode::kConfigurationError);
  }
  Result<TemplateSet> hf =
      ParseTemplates(json{{"templates", json::array()}, {"scheduler_type", "hostfactory"}});
  ASSERT_TRUE(hf.ok());
  EXPECT_EQ(hf->scheduler_type, "hostfactory");
}

TEST(TemplateSetTest, FindsById) {
  Result<TemplateSet> set = ParseTemplates(json::parse(kContractDocument));
  ASSERT_TRUE(set.ok());
  ASSERT_NE(set->Find("spot-c5-mix"), nullptr);
  EXPECT_EQ(set->Find("spot-c5-mix")->max_number, 100);
  EXPECT_EQ(set->Find("nope"), nullptr);
}

// --- Instance tags ---

TEST(InstanceTagsTest, ParsesTheStringForm) {
  auto tags = ParseInstanceTags(json(" team = risk ; url=a=b;empty=; ;env=prod;"));
  ASSERT_TRUE(tags.ok()) << tags.status().ToString();
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(*tags,
            (std::vector<P>{{"team", "risk"}, {"url", "a=b"}, {"empty", ""}, {"env", "prod"}}));
  EXPECT_TRUE(ParseInstanceTags(json("")).value().empty());
}

TEST(InstanceTagsTest, ParsesTheObjectForm) {
  auto tags = ParseInstanceTags(json{{"team", "risk"}, {"cost", 12}});
  ASSERT_TRUE(tags.ok());
  std::vector<std::pair<std::string, std::string>> sorted = *tags;
  std::sort(sorted.begin(), sorted.end());
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(sorted, (std::vector<P>{{"cost", "12"}, {"team", "risk"}}));
}

TEST(InstanceTagsTest, RejectsBadTags) {
  struct Case {
    json value;
    const char* words;
  };
  for (const Case& c :
       {Case{json("aws:x=1"), "aws:"}, Case{json("AWS:x=1"), "aws:"},
        Case{json{{"aws:x", "1"}}, "aws:"}, Case{json("ohfp:id=1"), "ohfp:"},
        Case{json("=v"), "empty key"}, Case{json("novalue"), "key=value"},
        Case{json("a=1;a=2"), "twice"}, Case{json(5), "string or an object"},
        Case{json{{"a", "x;y"}}, "';'"}, Case{json(std::string(129, 'k') + "=v"), "128"},
        Case{json("k=" + std::string(257, 'v')), "256"}}) {
    auto tags = ParseInstanceTags(c.value);
    ASSERT_FALSE(tags.ok()) << c.value.dump();
    EXPECT_THAT(tags.status().message(), HasSubstr(c.words)) << c.value.dump();
  }
}

TEST(InstanceTagsTest, FormatRoundTrips) {
  std::vector<std::pair<std::string, std::string>> tags = {{"a", "1"}, {"b", "x=y"}, {"c", ""}};
  EXPECT_EQ(FormatInstanceTags(tags), "a=1;b=x=y;c=");
  EXPECT_EQ(ParseInstanceTags(json(FormatInstanceTags(tags))).value(), tags);
  EXPECT_EQ(FormatInstanceTags({}), "");
}

// --- Files ---

TEST(LoadTemplatesTest, SearchesProviderSpecificThenAwsprovThenGeneric) {
  ScratchDir dir;
  auto doc = [](const char* id) { return json::array({With(Minimal(), "templateId", id)}).dump(); };
  dir.Write("templates.json", doc("generic"));
  Result<TemplateSet> set = LoadTemplates(dir.path(), "awsinst");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->templates[0].template_id, "generic");
  EXPECT_EQ(set->source_path, dir.path() + "/templates.json");

  dir.Write("awsprov_templates.json", doc("awsprov"));
  set = LoadTemplates(dir.path(), "awsinst");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->templates[0].template_id, "awsprov");

  dir.Write("awsinstprov_templates.json", doc("instance"));
  set = LoadTemplates(dir.path(), "awsinst");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->templates[0].template_id, "instance");
  EXPECT_EQ(set->source_path, dir.path() + "/awsinstprov_templates.json");

  // Without a provider name the instance-specific file is not looked for.
  set = LoadTemplates(dir.path(), "");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->templates[0].template_id, "awsprov");
}

TEST(LoadTemplatesTest, NoFileListsThePathsTried) {
  ScratchDir dir;
  Result<TemplateSet> set = LoadTemplates(dir.path(), "awsinst");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), ErrorCode::kConfigurationError);
  for (const char* name :
       {"awsinstprov_templates.json", "awsprov_templates.json", "templates.json"}) {
    EXPECT_THAT(set.status().message(), HasSubstr(dir.path() + "/" + name));
  }
}

TEST(LoadTemplatesTest, InvalidJsonGivesThePosition) {
  ScratchDir dir;
  dir.Write("awsprov_templates.json", "{\n  \"templates\": [\n    {\"templateId\": oops}\n]}");
  Result<TemplateSet> set = LoadTemplates(dir.path(), "");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), ErrorCode::kConfigurationError);
  EXPECT_THAT(set.status().message(), HasSubstr("awsprov_templates.json"));
  EXPECT_THAT(set.status().message(), HasSubstr("line 3"));
  EXPECT_THAT(set.status().message(), HasSubstr("column"));
}

TEST(LoadTemplatesTest, MalformedDocumentNamesTheFile) {
  ScratchDir dir;
  dir.Write("templates.json", R"({"template": []})");
  Result<TemplateSet> set = LoadTemplates(dir.path(), "");
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("templates.json"));
  EXPECT_THAT(set.status().message(), HasSubstr("\"templates\""));
}

TEST(ParseTemplateFileTest, ParsesTextAndRemembersItsPath) {
  Result<TemplateSet> set = ParseTemplateFile(kContractDocument, "/conf/awsprov_templates.json");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->templates.size(), 2u);
  EXPECT_EQ(set->source_path, "/conf/awsprov_templates.json");
}

TEST(ParseTemplateFileTest, ErrorsNameThePathAndPosition) {
  Result<TemplateSet> bad_json = ParseTemplateFile("{\"templates\": [,]}", "/conf/t.json");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_EQ(bad_json.status().code(), ErrorCode::kConfigurationError);
  EXPECT_THAT(bad_json.status().message(), HasSubstr("/conf/t.json at line 1, column 16"));
  Result<TemplateSet> bad_shape = ParseTemplateFile("42", "/conf/t.json");
  ASSERT_FALSE(bad_shape.ok());
  EXPECT_THAT(bad_shape.status().message(), HasSubstr("/conf/t.json: template document"));
}

// A template with a 100,000-level extra key parsed, then overflowed the
// stack when its extras were copied: now the file is refused.
TEST(ParseTemplateFileTest, DeeplyNestedFileIsAnErrorNotACrash) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string text = R"({"templates": [{"templateId": "t", "maxNumber": 1, "imageId": "a",
    "attributes": {"type": "X", "ncpus": 1, "nram": 1}, "vmType": "t", "extra": )" +
                     deep + "}]}";
  Result<TemplateSet> set = ParseTemplateFile(text, "/conf/t.json");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), ErrorCode::kConfigurationError);
  EXPECT_THAT(set.status().message(), HasSubstr("/conf/t.json: nests deeper than"));
}

TEST(LoadTemplatesTest, LoadsTheContractExample) {
  ScratchDir dir;
  dir.Write("awsprov_templates.json", kContractDocument);
  Result<TemplateSet> set = LoadTemplates(dir.path(), "aws");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->templates.size(), 2u);
  EXPECT_TRUE(set->rejected.empty());
}

}  // namespace
}  // namespace ohfp
