#include "contract/output.h"

#include <gtest/gtest.h>

namespace ohfp {
namespace {

using json = nlohmann::json;

MachineReport RunningMachine() {
  Machine m;
  m.machine_id = "i-0a11b22c33d44e55f";
  m.name = "ip-10-20-3-41.ec2.internal";
  m.state = "running";
  m.private_ip = "10.20.3.41";
  m.launch_time = 1767225600;
  m.instance_type = "m5.xlarge";
  m.price_type = "ondemand";
  return {m, kResultSucceed, ""};
}

TEST(OutputTest, RequestStatusHostFactoryShape) {
  RequestReport r;
  r.request_id = "req-1";
  r.request.request_id = "req-1";
  r.request.state = RequestState::kComplete;
  r.hf_status = kHfComplete;
  r.machines.push_back(RunningMachine());
  json out = FormatRequestStatus({r}, {});
  const json& req = out["requests"][0];
  EXPECT_EQ(req["requestId"], "req-1");
  EXPECT_EQ(req["status"], "complete");
  const json& m = req["machines"][0];
  EXPECT_EQ(m["machineId"], "i-0a11b22c33d44e55f");
  EXPECT_EQ(m["name"], "ip-10-20-3-41.ec2.internal");
  EXPECT_EQ(m["result"], "succeed");
  EXPECT_EQ(m["status"], "running");
  EXPECT_EQ(m["privateIpAddress"], "10.20.3.41");
  EXPECT_EQ(m["publicIpAddress"], "");
  EXPECT_TRUE(m["launchtime"].is_number_integer());
  EXPECT_EQ(m["launchtime"], 1767225600);
  EXPECT_EQ(m["message"], "");
  EXPECT_FALSE(out.contains("count"));
}

TEST(OutputTest, RequestStatusDefaultShape) {
  RequestReport r;
  r.request_id = "req-1";
  r.request.request_id = "req-1";
  r.request.template_id = "t";
  r.request.machine_count = 1;
  r.request.state = RequestState::kInProgress;
  r.request.created_at = 1767225600;
  r.hf_status = kHfRunning;
  r.machines.push_back(RunningMachine());
  OutputOptions o;
  o.format = OutputFormat::kDefault;
  json out = FormatRequestStatus({r}, o);
  const json& req = out["requests"][0];
  EXPECT_EQ(req["request_id"], "req-1");
  EXPECT_EQ(req["status"], "IN_PROGRESS");
  EXPECT_EQ(req["created_at"], "2026-01-01T00:00:00Z");
  EXPECT_TRUE(req["completed_at"].is_null());
  EXPECT_EQ(req["machines"][0]["status"], "RUNNING");
  EXPECT_EQ(req["machines"][0]["provider_instance_id"], "i-0a11b22c33d44e55f");
}

TEST(OutputTest, CleanDropsEmptyFields) {
  RequestReport r;
  r.request_id = "req-1";
  r.known = false;
  r.hf_status = kHfCompleteWithError;
  r.message = "unknown request id";
  OutputOptions o;
  o.clean = true;
  json out = FormatRequestStatus({r}, o);
  EXPECT_FALSE(out["requests"][0].contains("machines"));
  EXPECT_EQ(out["requests"][0]["message"], "unknown request id");
}

TEST(OutputTest, TemplatesCarryAttributesAsKindValuePairs) {
  Template t;
  t.template_id = "od";
  t.max_number = 10;
  t.attributes["ncpus"] = {"Numeric", "2"};
  t.attributes["type"] = {"String", "X86_64"};
  t.instance_tags = {{"team", "risk"}, {"env", "prod"}};
  t.extras = {{"pgrpName", nullptr}, {"templateId", "must-not-win"}};
  TemplatesReport report;
  report.templates.push_back({&t, 4});
  json out = FormatTemplates(report, {});
  const json& j = out["templates"][0];
  EXPECT_EQ(j["templateId"], "od");
  EXPECT_EQ(j["maxNumber"], 10);
  EXPECT_EQ(j["availableNumber"], 6);
  EXPECT_EQ(j["attributes"]["ncpus"], json::array({"Numeric", "2"}));
  EXPECT_EQ(j["instanceTags"], "team=risk;env=prod");
  EXPECT_TRUE(j.contains("pgrpName"));
}

TEST(OutputTest, ReclaimsHaveStatusAndGracePeriod) {
  ReclaimReport r;
  r.machines.push_back({"ip-10-0-0-1.ec2.internal", "i-1", 0, "terminated"});
  json out = FormatReclaims(r, {});
  EXPECT_EQ(out["status"], "complete");
  EXPECT_EQ(out["requests"][0]["machine"], "ip-10-0-0-1.ec2.internal");
  EXPECT_EQ(out["requests"][0]["gracePeriod"], 0);
  EXPECT_FALSE(out["requests"][0].contains("machineId"));
}

TEST(OutputTest, ErrorBodyHasEveryDocumentedField) {
  Status s = Status::Error(ErrorCode::kTemplateNotFound, "template 'x' is not defined",
                           {{"template_id", "x"}});
  json out = FormatError(s, "", 1767225600);
  EXPECT_EQ(out["error_code"], "TEMPLATE_NOT_FOUND");
  EXPECT_EQ(out["message"], "template 'x' is not defined");
  EXPECT_EQ(out["timestamp"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(out["details"]["template_id"], "x");
  EXPECT_TRUE(out.contains("error"));
  EXPECT_FALSE(out.contains("request_id"));
  EXPECT_EQ(FormatError(s, "req-1", 0)["request_id"], "req-1");
  EXPECT_EQ(ExitCodeFor(ErrorCode::kTemplateNotFound), 4);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kConfigurationError), 2);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kProviderError), 3);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kStorageError), 1);
}

}  // namespace
}  // namespace ohfp
