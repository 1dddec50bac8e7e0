// EC2 answers, from raw bytes: the body an HTTP 200 from EC2 (or anything
// pretending to be it) could carry, through every EC2 answer parser, and the
// InvalidInstanceID message through the id extractor.
//
// Checks: unreadable XML is a provider error and nothing else; a parsed
// answer holds what its items held (one instance per item, launch times
// never negative); and the ids pulled from an error message are non-empty,
// blank-free and really written in it.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "aws/ec2_client.h"
#include "aws/xml.h"
#include "fuzz/check.h"

namespace ohfp::aws {
namespace {

void CheckInstance(const Ec2Instance& instance) {
  FUZZ_CHECK(instance.launch_time >= 0, instance.instance_id);
  // Tag() answers the first tag of a key, as EC2 allows only one.
  std::set<std::string> seen;
  for (const auto& [key, value] : instance.tags) {
    if (seen.insert(key).second) FUZZ_CHECK(instance.Tag(key) == value, key);
  }
}

void CheckFailure(const Status& status, const char* action) {
  FUZZ_CHECK(status.code() == ErrorCode::kProviderError, status.ToString());
  FUZZ_CHECK(status.message().find(action) != std::string::npos, status.ToString());
}

// How many "item" children the list `set_name` under `parent` has.
size_t CountItems(const pugi::xml_node& parent, const char* set_name) {
  return Children(Child(parent, set_name), "item").size();
}

void CheckRunInstances(const std::string& xml) {
  Result<Reservation> reservation = ParseRunInstancesResponse(xml);
  if (!reservation.ok()) return CheckFailure(reservation.status(), "RunInstances");
  pugi::xml_document doc;
  FUZZ_CHECK(ParseXml(xml, &doc).ok(), "the answer parsed, the XML did not");
  FUZZ_CHECK(reservation->instances.size() == CountItems(doc.document_element(), "instancesSet"),
             xml);
  for (const Ec2Instance& instance : reservation->instances) CheckInstance(instance);
}

void CheckDescribeInstances(const std::string& xml) {
  Result<InstancePage> page = ParseDescribeInstancesResponse(xml);
  if (!page.ok()) return CheckFailure(page.status(), "DescribeInstances");
  pugi::xml_document doc;
  FUZZ_CHECK(ParseXml(xml, &doc).ok(), "the answer parsed, the XML did not");
  size_t items = 0;
  for (const pugi::xml_node& r :
       Children(Child(doc.document_element(), "reservationSet"), "item")) {
    items += CountItems(r, "instancesSet");
  }
  FUZZ_CHECK(page->instances.size() == items, xml);
  for (const Ec2Instance& instance : page->instances) CheckInstance(instance);
}

void CheckTerminateInstances(const std::string& xml) {
  Result<std::vector<StateChange>> changes = ParseTerminateInstancesResponse(xml);
  if (!changes.ok()) return CheckFailure(changes.status(), "TerminateInstances");
}

void CheckRootDeviceName(const std::string& xml) {
  Result<std::string> root = ParseRootDeviceName(xml);
  if (root.ok()) {
    FUZZ_CHECK(!root->empty(), xml);
  } else if (root.status().code() != ErrorCode::kNotFound) {
    CheckFailure(root.status(), "DescribeImages");
  }
}

void CheckNotFoundIds(const std::string& message) {
  for (const std::string& id : ParseNotFoundInstanceIds(message)) {
    FUZZ_CHECK(!id.empty() && id.find(' ') == std::string::npos, "id '" + id + "'");
    FUZZ_CHECK(message.find(id) != std::string::npos, "id '" + id + "' not in the message");
  }
}

}  // namespace
}  // namespace ohfp::aws

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ohfp::aws;
  std::string text(reinterpret_cast<const char*>(data), size);
  CheckRunInstances(text);
  CheckDescribeInstances(text);
  CheckTerminateInstances(text);
  CheckRootDeviceName(text);
  CheckNotFoundIds(text);
  return 0;
}
