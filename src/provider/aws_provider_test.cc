#include "provider/aws_provider.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "aws/credentials.h"
#include "aws/form.h"

namespace ohfp {
namespace {

using aws::HttpRequest;
using aws::HttpResponse;

class FixedClock : public Clock {
 public:
  int64_t NowSeconds() const override { return 1796334116; }
  int64_t MonotonicMillis() const override { return 1000; }
};

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Element(const std::string& name, const std::string& value) {
  return "<" + name + ">" + XmlEscape(value) + "</" + name + ">";
}

// An in-memory EC2 + SSM behind the HTTP seam. It answers the way EC2 does
// (including failing a whole call on one unknown id) and records every call.
class FakeAws : public aws::HttpTransport {
 public:
  struct FakeInstance {
    std::string id;
    std::string state = "running";
    std::string instance_type;
    std::string private_ip;
    std::string lifecycle;
    std::vector<std::pair<std::string, std::string>> tags;
    std::string dns() const {
      std::string d = private_ip;
      std::replace(d.begin(), d.end(), '.', '-');
      return "ip-" + d + ".ec2.internal";
    }
  };
  struct Call {
    std::string action;  // EC2 Action or the X-Amz-Target
    std::map<std::string, std::string> params;
    nlohmann::json json;
    size_t Count(const std::string& prefix) const {
      size_t n = 0;
      for (const auto& [k, v] : params) n += k.rfind(prefix, 0) == 0;
      return n;
    }
  };

  std::vector<Call> calls;
  std::map<std::string, FakeInstance> instances;
  std::map<std::string, std::string> ssm = {
      {"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64", "ami-0ssm"}};
  std::map<std::string, std::string> images = {{"ami-1", "/dev/xvda"}, {"ami-0ssm", "/dev/sda1"}};
  std::string run_error_code;        // when set, RunInstances fails with it
  int throttled_runs = 0;            // RunInstances calls refused as throttled first
  int lost_run_answers = 0;          // RunInstances calls that launch, then lose the answer
  bool ignore_client_token = false;  // as moto does
  bool plural_not_found = false;     // AWS style: name every unknown id at once
  size_t page_size = 1000;
  size_t id_page_size = 0;         // instances a page of a call naming ids (moto: 100); 0 = all
  std::string refuse_describe_of;  // a DescribeInstances naming this id is refused
  size_t hold_until_arrivals = 0;  // each call waits (≤ 10 s) until this many have arrived
  size_t max_in_flight = 0;        // most calls under way at once

  std::vector<Call> CallsOf(const std::string& action) const {
    std::vector<Call> out;
    for (const Call& c : calls) {
      if (c.action == action) out.push_back(c);
    }
    return out;
  }

  std::string Add(const std::string& state, std::vector<std::pair<std::string, std::string>> tags) {
    FakeInstance i;
    i.id = NextId();
    i.state = state;
    i.instance_type = "t3.micro";
    i.private_ip = "10.0.1." + std::to_string(4 + instances.size() % 250);
    i.tags = std::move(tags);
    instances[i.id] = i;
    return i.id;
  }

  // Safe from several threads: calls are counted as they arrive, may be
  // held until enough have (to prove they overlap), then served one by one.
  Result<HttpResponse> Send(const HttpRequest& request) override {
    Arrival arrival(this);
    std::lock_guard<std::mutex> lock(mu_);
    std::string target;
    for (const auto& [k, v] : request.headers) {
      std::string lower = k;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower == "x-amz-target") target = v;
    }
    if (!target.empty()) return Ssm(target, request.body);

    Call call;
    for (auto& [k, v] : aws::ParseFormBody(request.body)) call.params[k] = v;
    call.action = call.params["Action"];
    calls.push_back(call);
    if (call.action == "RunInstances") return Run(call);
    if (call.action == "DescribeInstances") {
      std::vector<std::string> ids = Ids(call);
      if (std::count(ids.begin(), ids.end(), refuse_describe_of) > 0) {
        return Error(403, "UnauthorizedOperation", "You are not authorized to do this.");
      }
      return DescribeInstances(call);
    }
    if (call.action == "TerminateInstances") return Terminate(call);
    if (call.action == "DescribeImages") return DescribeImages(call);
    return Error(400, "InvalidAction", "unexpected " + call.action);
  }

 private:
  class Arrival {
   public:
    explicit Arrival(FakeAws* fake) : fake_(fake) {
      std::unique_lock<std::mutex> lock(fake_->flight_mu_);
      ++fake_->arrivals_;
      fake_->max_in_flight = std::max(fake_->max_in_flight, ++fake_->in_flight_);
      fake_->flight_cv_.notify_all();
      fake_->flight_cv_.wait_for(lock, std::chrono::seconds(10),
                                 [this] { return fake_->arrivals_ >= fake_->hold_until_arrivals; });
    }
    ~Arrival() {
      std::lock_guard<std::mutex> lock(fake_->flight_mu_);
      --fake_->in_flight_;
    }

   private:
    FakeAws* fake_;
  };

  std::string NextId() {
    char buf[32];
    std::snprintf(buf, sizeof buf, "i-%017x", ++counter_);
    return buf;
  }

  static HttpResponse Xml(const std::string& root, const std::string& inner) {
    HttpResponse r;
    r.status = 200;
    r.headers = {{"content-type", "text/xml"}};
    r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<" + root +
             " xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">" + inner +
             "<requestId>fake</requestId></" + root + ">";
    return r;
  }

  static HttpResponse Error(int status, const std::string& code, const std::string& message) {
    HttpResponse r;
    r.status = status;
    r.headers = {{"content-type", "text/xml"}};
    r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>" +
             Element("Code", code) + Element("Message", message) +
             "</Error></Errors><RequestID>fake</RequestID></Response>";
    return r;
  }

  static std::vector<std::string> Ids(const Call& call) {
    std::vector<std::string> ids;
    for (int n = 1;; ++n) {
      auto it = call.params.find("InstanceId." + std::to_string(n));
      if (it == call.params.end()) return ids;
      ids.push_back(it->second);
    }
  }

  // EC2 fails the whole call when one id is unknown.
  std::optional<HttpResponse> NotFound(const std::vector<std::string>& ids) const {
    std::vector<std::string> unknown;
    for (const std::string& id : ids) {
      if (!instances.count(id)) unknown.push_back(id);
    }
    if (unknown.empty()) return std::nullopt;
    if (!plural_not_found || unknown.size() == 1) {
      // Moto names only the first unknown id.
      return Error(400, "InvalidInstanceID.NotFound",
                   "The instance ID '" + unknown[0] + "' does not exist");
    }
    std::string list;
    for (const std::string& id : unknown) list += (list.empty() ? "" : ", ") + id;
    return Error(400, "InvalidInstanceID.NotFound", "The instance IDs '" + list + "' do not exist");
  }

  static std::string InstanceXml(const FakeInstance& i) {
    std::string tags;
    for (const auto& [k, v] : i.tags)
      tags += "<item>" + Element("key", k) + Element("value", v) + "</item>";
    return "<item>" + Element("instanceId", i.id) + "<instanceState>" + Element("name", i.state) +
           "</instanceState>" + Element("privateDnsName", i.dns()) +
           Element("privateIpAddress", i.private_ip) + Element("instanceType", i.instance_type) +
           (i.lifecycle.empty() ? "" : Element("instanceLifecycle", i.lifecycle)) +
           Element("launchTime", "2026-12-03T21:41:56.000Z") + "<tagSet>" + tags +
           "</tagSet></item>";
  }

  Result<HttpResponse> Run(const Call& call) {
    if (!run_error_code.empty()) {
      return Error(400, run_error_code, "We currently do not have sufficient capacity.");
    }
    if (throttled_runs > 0) {
      --throttled_runs;
      return Error(400, "RequestLimitExceeded", "Request limit exceeded.");
    }
    auto token = call.params.find("ClientToken");
    if (ignore_client_token) token = call.params.end();
    if (token != call.params.end() && by_token_.count(token->second)) {
      return by_token_[token->second];
    }
    int count = std::stoi(call.params.at("MinCount"));
    std::vector<std::pair<std::string, std::string>> tags;
    for (int t = 1; call.params.count("TagSpecification.1.Tag." + std::to_string(t) + ".Key");
         ++t) {
      std::string prefix = "TagSpecification.1.Tag." + std::to_string(t);
      tags.emplace_back(call.params.at(prefix + ".Key"), call.params.at(prefix + ".Value"));
    }
    std::string items;
    for (int n = 0; n < count; ++n) {
      std::string id = Add("pending", tags);
      FakeInstance& i = instances[id];
      i.instance_type = call.params.at("InstanceType");
      if (call.params.count("InstanceMarketOptions.MarketType")) i.lifecycle = "spot";
      items += InstanceXml(i);
      i.state = "running";
    }
    HttpResponse r = Xml("RunInstancesResponse",
                         Element("reservationId", "r-" + std::to_string(++reservations_)) +
                             "<instancesSet>" + items + "</instancesSet>");
    if (token != call.params.end()) by_token_[token->second] = r;
    if (lost_run_answers > 0) {
      --lost_run_answers;
      return Status::Error(ErrorCode::kProviderError, "Connection reset by peer",
                           {{"transport", "io"}});
    }
    return r;
  }

  Result<HttpResponse> DescribeInstances(const Call& call) {
    std::vector<std::string> ids = Ids(call);
    std::vector<const FakeInstance*> matched;
    if (!ids.empty()) {
      if (auto error = NotFound(ids)) return *error;
      for (const std::string& id : ids) matched.push_back(&instances.at(id));
    } else {
      std::vector<std::pair<std::string, std::set<std::string>>> filters;
      for (int f = 1; call.params.count("Filter." + std::to_string(f) + ".Name"); ++f) {
        std::string prefix = "Filter." + std::to_string(f);
        std::set<std::string> values;
        for (int v = 1; call.params.count(prefix + ".Value." + std::to_string(v)); ++v) {
          values.insert(call.params.at(prefix + ".Value." + std::to_string(v)));
        }
        if (values.size() > 200) return Error(400, "InvalidParameterValue", "too many values");
        filters.emplace_back(call.params.at(prefix + ".Name"), values);
      }
      for (const auto& [id, i] : instances) {
        bool all = true;
        for (const auto& [name, values] : filters) {
          std::string actual;
          if (name == "private-dns-name")
            actual = i.dns();
          else if (name == "private-ip-address")
            actual = i.private_ip;
          else if (name.rfind("tag:", 0) == 0) {
            for (const auto& [k, v] : i.tags) {
              if (k == name.substr(4)) actual = v;
            }
          } else {
            return Error(500, "InternalError", "filter " + name);
          }
          all = all && values.count(actual);
        }
        if (all) matched.push_back(&i);
      }
    }

    size_t start = call.params.count("NextToken") ? std::stoul(call.params.at("NextToken")) : 0;
    size_t limit = call.params.count("MaxResults")
                       ? std::min<size_t>(page_size, std::stoul(call.params.at("MaxResults")))
                   : ids.empty() || id_page_size == 0 ? matched.size()
                                                      : id_page_size;
    std::string items;
    size_t end = std::min(matched.size(), start + limit);
    for (size_t n = start; n < end; ++n) items += InstanceXml(*matched[n]);
    std::string inner = "<reservationSet><item>" + Element("reservationId", "r-x") +
                        "<instancesSet>" + items + "</instancesSet></item></reservationSet>";
    if (end < matched.size()) inner += Element("nextToken", std::to_string(end));
    return Xml("DescribeInstancesResponse", inner);
  }

  Result<HttpResponse> Terminate(const Call& call) {
    std::vector<std::string> ids = Ids(call);
    if (auto error = NotFound(ids)) return *error;
    std::string items;
    for (const std::string& id : ids) {
      FakeInstance& i = instances.at(id);
      items += "<item>" + Element("instanceId", id) + "<currentState>" +
               Element("name", "shutting-down") + "</currentState><previousState>" +
               Element("name", i.state) + "</previousState></item>";
      i.state = "terminated";
    }
    return Xml("TerminateInstancesResponse", "<instancesSet>" + items + "</instancesSet>");
  }

  Result<HttpResponse> DescribeImages(const Call& call) {
    auto it = images.find(call.params.at("ImageId.1"));
    if (it == images.end()) {
      return Error(400, "InvalidAMIID.NotFound",
                   "The image id '[" + call.params.at("ImageId.1") + "]' does not exist");
    }
    return Xml("DescribeImagesResponse", "<imagesSet><item>" + Element("imageId", it->first) +
                                             Element("rootDeviceName", it->second) +
                                             "</item></imagesSet>");
  }

  Result<HttpResponse> Ssm(const std::string& target, const std::string& body) {
    Call call;
    call.action = target;
    call.json = nlohmann::json::parse(body);
    calls.push_back(call);
    HttpResponse r;
    r.headers = {{"content-type", "application/x-amz-json-1.1"}};
    std::string name = call.json.value("Name", "");
    auto it = ssm.find(name);
    if (target != "AmazonSSM.GetParameter" || it == ssm.end()) {
      r.status = 400;
      r.headers.emplace_back("x-amzn-errortype", "ParameterNotFound");
      r.body = nlohmann::json{{"__type", "ParameterNotFound"},
                              {"message", "Parameter " + name + " not found."}}
                   .dump();
      return r;
    }
    r.status = 200;
    r.body =
        nlohmann::json{
            {"Parameter",
             {{"Name", name}, {"Type", "String"}, {"Value", it->second}, {"Version", 1}}}}
            .dump();
    return r;
  }

  std::mutex mu_;  // serves one call at a time
  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  size_t arrivals_ = 0;
  size_t in_flight_ = 0;
  unsigned counter_ = 0;
  int reservations_ = 0;
  std::map<std::string, HttpResponse> by_token_;
};

class AwsProviderTest : public ::testing::Test {
 protected:
  AwsProviderTest()
      : client_(Options(), &fake_, &credentials_, &clock_, {}),
        provider_(&client_, AwsProviderOptions{ConfDir()}) {
    client_.set_sleep_for_testing([](int64_t) {});
  }

  ~AwsProviderTest() override { std::filesystem::remove_all(ConfDir()); }

  static aws::ClientOptions Options() {
    aws::ClientOptions o;
    o.region = "us-east-1";
    o.endpoint_url = "https://fake.invalid";
    return o;
  }

  static std::string ConfDir() {
    static std::string dir = [] {
      std::string d = ::testing::TempDir() + "/aws_provider_test_" + std::to_string(::getpid());
      std::filesystem::create_directories(d);
      return d;
    }();
    std::filesystem::create_directories(dir);
    return dir;
  }

  static Template BasicTemplate() {
    Template t;
    t.template_id = "tmpl-a";
    t.max_number = 10;
    t.image_id = "ami-1";
    t.vm_type = "t3.micro";
    t.subnet_ids = {"subnet-1", "subnet-2"};
    t.security_group_ids = {"sg-1"};
    t.instance_tags = {{"team", "hpc"}, {"cost center", "a&b"}};
    return t;
  }

  static Request BasicRequest(int64_t count) {
    Request r;
    r.request_id = "req-6f1c2a8e-3b7d-4c55-9a0e-1d2f3a4b5c6d";
    r.template_id = "tmpl-a";
    r.provider_api = "RunInstances";
    r.machine_count = count;
    r.client_token = r.request_id;
    return r;
  }

  FakeAws::Call LastRun() {
    std::vector<FakeAws::Call> runs = fake_.CallsOf("RunInstances");
    EXPECT_FALSE(runs.empty());
    return runs.empty() ? FakeAws::Call{} : runs.back();
  }

  FakeAws fake_;
  aws::StaticCredentials credentials_{aws::Credentials{"AKIDEXAMPLE", "secret", "", 0}};
  FixedClock clock_;
  aws::AwsClient client_;
  AwsProvider provider_;
};

TEST_F(AwsProviderTest, LaunchTagsCountsAndToken) {
  Result<LaunchResult> result = provider_.Launch(BasicTemplate(), BasicRequest(3));
  ASSERT_TRUE(result.ok()) << result.status().ToString();

  FakeAws::Call run = LastRun();
  EXPECT_EQ(run.params["MinCount"], "3");
  EXPECT_EQ(run.params["MaxCount"], "3");
  EXPECT_EQ(run.params["ImageId"], "ami-1");
  EXPECT_EQ(run.params["InstanceType"], "t3.micro");
  EXPECT_EQ(run.params["SubnetId"], "subnet-1");
  EXPECT_EQ(run.params["SecurityGroupId.1"], "sg-1");
  EXPECT_EQ(run.params["ClientToken"], "req-6f1c2a8e-3b7d-4c55-9a0e-1d2f3a4b5c6d");
  EXPECT_EQ(run.params.count("InstanceMarketOptions.MarketType"), 0u);
  EXPECT_EQ(run.params.count("BlockDeviceMapping.1.DeviceName"), 0u);
  EXPECT_EQ(run.params.count("UserData"), 0u);
  for (const char* spec : {"TagSpecification.1.", "TagSpecification.2."}) {
    std::string p = spec;
    EXPECT_EQ(run.params[p + "Tag.1.Key"], "ohfp:request-id");
    EXPECT_EQ(run.params[p + "Tag.1.Value"], "req-6f1c2a8e-3b7d-4c55-9a0e-1d2f3a4b5c6d");
    EXPECT_EQ(run.params[p + "Tag.2.Key"], "ohfp:template-id");
    EXPECT_EQ(run.params[p + "Tag.2.Value"], "tmpl-a");
    EXPECT_EQ(run.params[p + "Tag.3.Key"], "ohfp:managed-by");
    EXPECT_EQ(run.params[p + "Tag.3.Value"], "ohfp");
    EXPECT_EQ(run.params[p + "Tag.4.Key"], "team");
    EXPECT_EQ(run.params[p + "Tag.5.Key"], "cost center");
    EXPECT_EQ(run.params[p + "Tag.5.Value"], "a&b");
  }
  EXPECT_EQ(run.params["TagSpecification.1.ResourceType"], "instance");
  EXPECT_EQ(run.params["TagSpecification.2.ResourceType"], "volume");

  ASSERT_EQ(result->instances.size(), 3u);
  for (const Instance& i : result->instances) {
    EXPECT_EQ(i.request_id, "req-6f1c2a8e-3b7d-4c55-9a0e-1d2f3a4b5c6d");
    EXPECT_EQ(i.template_id, "tmpl-a");
    EXPECT_EQ(i.state, "pending");
    EXPECT_EQ(i.lifecycle, "");
    EXPECT_EQ(i.launch_time, 1796334116);
    EXPECT_FALSE(i.private_dns_name.empty());
  }
  EXPECT_EQ(result->handles, (nlohmann::json{{"reservation_ids", {"r-1"}}}));
  EXPECT_EQ(result->message, "");
}

TEST_F(AwsProviderTest, RepeatedLaunchWithSameTokenReturnsSameInstances) {
  Result<LaunchResult> first = provider_.Launch(BasicTemplate(), BasicRequest(2));
  Result<LaunchResult> second = provider_.Launch(BasicTemplate(), BasicRequest(2));
  ASSERT_TRUE(first.ok() && second.ok());
  std::vector<FakeAws::Call> runs = fake_.CallsOf("RunInstances");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].params["ClientToken"], runs[1].params["ClientToken"]);
  ASSERT_EQ(second->instances.size(), 2u);
  EXPECT_EQ(second->instances[0].instance_id, first->instances[0].instance_id);
  EXPECT_EQ(fake_.instances.size(), 2u);
}

TEST_F(AwsProviderTest, ThrottledLaunchIsRetriedButALostAnswerIsNotRepeated) {
  fake_.ignore_client_token = true;
  fake_.throttled_runs = 2;
  ASSERT_TRUE(provider_.Launch(BasicTemplate(), BasicRequest(2)).ok());
  EXPECT_EQ(fake_.CallsOf("RunInstances").size(), 3u);
  EXPECT_EQ(fake_.instances.size(), 2u);

  // EC2 launched, the answer never came: repeating blindly would launch a
  // second set here, so the error goes back to the caller to look first.
  fake_.lost_run_answers = 1;
  Result<LaunchResult> lost = provider_.Launch(BasicTemplate(), BasicRequest(2));
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().details()["retry_stop"], "may_have_acted");
  EXPECT_EQ(fake_.CallsOf("RunInstances").size(), 4u);
  EXPECT_EQ(fake_.instances.size(), 4u);
}

TEST_F(AwsProviderTest, ReservedTagKeysInTemplateAreIgnored) {
  Template t = BasicTemplate();
  t.instance_tags = {{"ohfp:request-id", "forged"}, {"x", "y"}};
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  FakeAws::Call run = LastRun();
  EXPECT_EQ(run.params["TagSpecification.1.Tag.1.Value"], BasicRequest(1).request_id);
  EXPECT_EQ(run.params["TagSpecification.1.Tag.4.Key"], "x");
  EXPECT_EQ(run.Count("TagSpecification.1.Tag."), 8u);  // 4 tags x (Key, Value)
}

TEST_F(AwsProviderTest, InstanceTypeFallsBackToFirstOfVmTypesAndSubnetMayBeEmpty) {
  Template t = BasicTemplate();
  t.vm_type = "";
  t.vm_types = {{"m5.large", 1}, {"c5.large", 2}};
  t.subnet_ids.clear();
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  EXPECT_EQ(LastRun().params["InstanceType"], "c5.large");  // first key (map order)
  EXPECT_EQ(LastRun().params.count("SubnetId"), 0u);
}

TEST_F(AwsProviderTest, SpotTemplateSendsSpotMarketOptions) {
  Template t = BasicTemplate();
  t.price_type = "spot";
  t.max_spot_price = 0.25;
  Result<LaunchResult> result = provider_.Launch(t, BasicRequest(2));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  FakeAws::Call run = LastRun();
  EXPECT_EQ(run.params["InstanceMarketOptions.MarketType"], "spot");
  EXPECT_EQ(run.params["InstanceMarketOptions.SpotOptions.SpotInstanceType"], "one-time");
  EXPECT_EQ(run.params["InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior"],
            "terminate");
  EXPECT_EQ(run.params["InstanceMarketOptions.SpotOptions.MaxPrice"], "0.25");
  EXPECT_EQ(result->instances[0].lifecycle, "spot");
}

TEST_F(AwsProviderTest, HeterogeneousIsRefusedWithRunInstances) {
  Template t = BasicTemplate();
  t.price_type = "heterogeneous";
  Result<LaunchResult> result = provider_.Launch(t, BasicRequest(1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kProviderError);
  EXPECT_TRUE(fake_.CallsOf("RunInstances").empty());
}

TEST_F(AwsProviderTest, UserDataFromRelativeFileAbsoluteFileOrLiteral) {
  std::string script = "#!/bin/bash\necho joined > /tmp/x\n";
  { std::ofstream(ConfDir() + "/user_data.sh") << script; }
  Template t = BasicTemplate();

  t.user_data_script = "user_data.sh";
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  EXPECT_EQ(LastRun().params["UserData"], aws::Base64Encode(script));

  t.user_data_script = ConfDir() + "/user_data.sh";
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  EXPECT_EQ(LastRun().params["UserData"], aws::Base64Encode(script));

  t.user_data_script = "#!/bin/sh\necho literal\n";
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  EXPECT_EQ(LastRun().params["UserData"], aws::Base64Encode("#!/bin/sh\necho literal\n"));

  t.user_data_script = "no-such-file.sh";  // not a file: the text itself
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  EXPECT_EQ(LastRun().params["UserData"], aws::Base64Encode("no-such-file.sh"));
}

TEST_F(AwsProviderTest, OversizedUserDataIsAConfigurationError) {
  Template t = BasicTemplate();
  t.user_data_script = "#!/bin/sh\n" + std::string(17000, '#');
  Result<LaunchResult> result = provider_.Launch(t, BasicRequest(1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kConfigurationError);
  EXPECT_TRUE(fake_.CallsOf("RunInstances").empty());
}

TEST_F(AwsProviderTest, ImageFromSsmParameterPath) {
  Template t = BasicTemplate();
  t.image_id = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64";
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  std::vector<FakeAws::Call> ssm = fake_.CallsOf("AmazonSSM.GetParameter");
  ASSERT_EQ(ssm.size(), 1u);
  EXPECT_EQ(ssm[0].json["Name"], t.image_id);
  EXPECT_EQ(LastRun().params["ImageId"], "ami-0ssm");

  t.image_id = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64";
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  EXPECT_EQ(fake_.CallsOf("AmazonSSM.GetParameter").size(), 2u);
  EXPECT_EQ(LastRun().params["ImageId"], "ami-0ssm");
}

TEST_F(AwsProviderTest, MissingSsmParameterIsAConfigurationErrorNamingIt) {
  Template t = BasicTemplate();
  t.image_id = "/no/such/parameter";
  Result<LaunchResult> result = provider_.Launch(t, BasicRequest(1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kConfigurationError);
  EXPECT_NE(result.status().message().find("/no/such/parameter"), std::string::npos);
  EXPECT_NE(result.status().message().find("tmpl-a"), std::string::npos);
  EXPECT_TRUE(fake_.CallsOf("RunInstances").empty());
}

TEST_F(AwsProviderTest, RootVolumeMapsTheImageRootDevice) {
  Template t = BasicTemplate();
  t.root_device_volume_size = 40;
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  FakeAws::Call run = LastRun();
  ASSERT_EQ(fake_.CallsOf("DescribeImages").size(), 1u);
  EXPECT_EQ(fake_.CallsOf("DescribeImages")[0].params["ImageId.1"], "ami-1");
  EXPECT_EQ(run.params["BlockDeviceMapping.1.DeviceName"], "/dev/xvda");
  EXPECT_EQ(run.params["BlockDeviceMapping.1.Ebs.VolumeSize"], "40");
  EXPECT_EQ(run.params["BlockDeviceMapping.1.Ebs.VolumeType"], "gp3");
  EXPECT_EQ(run.params["BlockDeviceMapping.1.Ebs.DeleteOnTermination"], "true");
  EXPECT_EQ(run.params.count("BlockDeviceMapping.1.Ebs.Iops"), 0u);

  t.volume_type = "io2";
  t.iops = 5000;
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  EXPECT_EQ(LastRun().params["BlockDeviceMapping.1.Ebs.VolumeType"], "io2");
  EXPECT_EQ(LastRun().params["BlockDeviceMapping.1.Ebs.Iops"], "5000");

  t.volume_type = "gp2";  // gp2 has no provisioned IOPS
  ASSERT_TRUE(provider_.Launch(t, BasicRequest(1)).ok());
  EXPECT_EQ(LastRun().params.count("BlockDeviceMapping.1.Ebs.Iops"), 0u);
}

TEST_F(AwsProviderTest, NoDescribeImagesWithoutRootVolumeSize) {
  ASSERT_TRUE(provider_.Launch(BasicTemplate(), BasicRequest(1)).ok());
  EXPECT_TRUE(fake_.CallsOf("DescribeImages").empty());
}

TEST_F(AwsProviderTest, RefusedLaunchCarriesTheAwsCode) {
  fake_.run_error_code = "InsufficientInstanceCapacity";
  Result<LaunchResult> result = provider_.Launch(BasicTemplate(), BasicRequest(2));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kProviderError);
  EXPECT_EQ(
      result.status().message().rfind("RunInstances failed: InsufficientInstanceCapacity: ", 0), 0u)
      << result.status().message();
  EXPECT_EQ(result.status().details()["aws_code"], "InsufficientInstanceCapacity");
  EXPECT_EQ(result.status().details()["request_id"], BasicRequest(2).request_id);
}

TEST_F(AwsProviderTest, OtherProviderApisAreNotSupportedYet) {
  Template t = BasicTemplate();
  t.provider_api = "EC2Fleet";
  Result<LaunchResult> result = provider_.Launch(t, BasicRequest(1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kProviderError);
  EXPECT_EQ(result.status().message(), "providerApi EC2Fleet is not supported yet");
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(AwsProviderTest, ClientTokenLongerThan64IsRefused) {
  Request r = BasicRequest(1);
  r.client_token = std::string(65, 'a');
  Result<LaunchResult> result = provider_.Launch(BasicTemplate(), r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(AwsProviderTest, DescribeDropsUnknownIdsOneAtATimeLikeMoto) {
  std::string a = fake_.Add("running", {});
  std::string b = fake_.Add("pending", {});
  std::string c = fake_.Add("terminated", {});
  Result<std::vector<Instance>> found =
      provider_.Describe({a, "i-00000000000000dead", b, "i-00000000000000beef", c});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  std::vector<std::string> ids;
  for (const Instance& i : *found) ids.push_back(i.instance_id);
  EXPECT_EQ(ids, (std::vector<std::string>{a, b, c}));
  EXPECT_EQ((*found)[1].state, "pending");
  EXPECT_EQ(fake_.CallsOf("DescribeInstances").size(), 3u);  // two misses, then the answer
}

TEST_F(AwsProviderTest, DescribeDropsAllUnknownIdsNamedAtOnce) {
  fake_.plural_not_found = true;
  std::string a = fake_.Add("running", {});
  Result<std::vector<Instance>> found = provider_.Describe({"i-0dead", a, "i-0beef"});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].instance_id, a);
  EXPECT_EQ(fake_.CallsOf("DescribeInstances").size(), 2u);
}

TEST_F(AwsProviderTest, DescribeOnlyUnknownIdsIsEmptyNotAnError) {
  fake_.plural_not_found = true;
  Result<std::vector<Instance>> found = provider_.Describe({"i-0dead", "i-0beef"});
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());
  EXPECT_TRUE(provider_.Describe({}).value().empty());
}

TEST_F(AwsProviderTest, DescribeBatchesByAThousand) {
  std::vector<std::string> ids;
  for (int n = 0; n < 2500; ++n) ids.push_back(fake_.Add("running", {}));
  Result<std::vector<Instance>> found = provider_.Describe(ids);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 2500u);
  std::multiset<size_t> sizes;
  for (const FakeAws::Call& call : fake_.CallsOf("DescribeInstances")) {
    sizes.insert(call.Count("InstanceId."));
  }
  EXPECT_EQ(sizes, (std::multiset<size_t>{500, 1000, 1000}));
}

TEST_F(AwsProviderTest, DescribeSendsFourBatchesAtOnceAndKeepsTheOrderOfIds) {
  std::vector<std::string> ids;
  for (int n = 0; n < 4500; ++n) ids.push_back(fake_.Add("running", {}));
  std::reverse(ids.begin(), ids.end());
  // The first four calls are held until all four have arrived: they can
  // only get through if they were sent side by side.
  fake_.hold_until_arrivals = aws::kMaxConcurrentCalls;
  Result<std::vector<Instance>> found = provider_.Describe(ids);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(fake_.max_in_flight, aws::kMaxConcurrentCalls);
  EXPECT_EQ(fake_.CallsOf("DescribeInstances").size(), 5u);
  ASSERT_EQ(found->size(), ids.size());
  for (size_t n = 0; n < ids.size(); ++n) ASSERT_EQ((*found)[n].instance_id, ids[n]) << n;
  EXPECT_EQ(client_.stats().calls, 5);
}

TEST_F(AwsProviderTest, DescribeOfManyIdsFailsWhenOneBatchIsRefused) {
  std::vector<std::string> ids;
  for (int n = 0; n < 2500; ++n) ids.push_back(fake_.Add("running", {}));
  fake_.refuse_describe_of = ids[1700];
  Result<std::vector<Instance>> found = provider_.Describe(ids);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), ErrorCode::kProviderError);
  EXPECT_NE(found.status().message().find("UnauthorizedOperation"), std::string::npos)
      << found.status().ToString();
}

TEST_F(AwsProviderTest, DescribeOfIdsFollowsNextTokenAsMotoPagesIt) {
  // Moto answers a call naming instances 100 reservations at a time.
  fake_.id_page_size = 100;
  std::vector<std::string> ids;
  for (int n = 0; n < 250; ++n) ids.push_back(fake_.Add("running", {}));
  Result<std::vector<Instance>> found = provider_.Describe(ids);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 250u);
  for (size_t n = 0; n < ids.size(); ++n) EXPECT_EQ((*found)[n].instance_id, ids[n]);
  std::vector<FakeAws::Call> calls = fake_.CallsOf("DescribeInstances");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].params.count("NextToken"), 0u);
  EXPECT_EQ(calls[1].params["NextToken"], "100");
  EXPECT_EQ(calls[2].params["NextToken"], "200");
  for (const FakeAws::Call& call : calls) {
    EXPECT_EQ(call.Count("InstanceId."), 250u);
    EXPECT_EQ(call.params.count("MaxResults"), 0u);
  }
}

TEST_F(AwsProviderTest, FindByRequestFollowsPagesAndFiltersOnOurTag) {
  fake_.page_size = 2;
  for (int n = 0; n < 5; ++n) fake_.Add("running", {{"ohfp:request-id", "req-a"}});
  fake_.Add("running", {{"ohfp:request-id", "req-b"}});
  fake_.Add("running", {});
  Result<std::vector<Instance>> found = provider_.FindByRequest({"req-a"});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->size(), 5u);
  for (const Instance& i : *found) EXPECT_EQ(i.request_id, "req-a");
  std::vector<FakeAws::Call> calls = fake_.CallsOf("DescribeInstances");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].params["Filter.1.Name"], "tag:ohfp:request-id");
  EXPECT_EQ(calls[0].params["MaxResults"], "1000");
  EXPECT_EQ(calls[0].params.count("NextToken"), 0u);
  EXPECT_EQ(calls[1].params["NextToken"], "2");
}

TEST_F(AwsProviderTest, FindByRequestSplitsMoreThan200Values) {
  std::vector<std::string> request_ids;
  for (int n = 0; n < 450; ++n) request_ids.push_back("req-" + std::to_string(n));
  fake_.Add("running", {{"ohfp:request-id", "req-0"}});
  fake_.Add("running", {{"ohfp:request-id", "req-449"}});
  Result<std::vector<Instance>> found = provider_.FindByRequest(request_ids);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->size(), 2u);
  std::vector<FakeAws::Call> calls = fake_.CallsOf("DescribeInstances");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].Count("Filter.1.Value."), 200u);
  EXPECT_EQ(calls[2].Count("Filter.1.Value."), 50u);
}

TEST_F(AwsProviderTest, FindByNameMatchesDnsNamesIpsAndShortNames) {
  std::string a = fake_.Add("running", {});  // 10.0.1.4
  std::string b = fake_.Add("running", {});  // 10.0.1.5
  std::string c = fake_.Add("running", {});  // 10.0.1.6
  fake_.Add("running", {});
  Result<std::vector<Instance>> found =
      provider_.FindByName({"ip-10-0-1-4.ec2.internal", "10.0.1.5", "ip-10-0-1-6", "unknown"});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  std::set<std::string> ids;
  for (const Instance& i : *found) ids.insert(i.instance_id);
  EXPECT_EQ(ids, (std::set<std::string>{a, b, c}));

  std::vector<FakeAws::Call> calls = fake_.CallsOf("DescribeInstances");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].params["Filter.1.Name"], "private-dns-name");
  EXPECT_EQ(calls[0].Count("Filter.1.Value."), 3u);  // the IP is not a DNS name
  EXPECT_EQ(calls[1].params["Filter.1.Name"], "private-ip-address");
  EXPECT_EQ(calls[1].Count("Filter.1.Value."), 2u);  // 10.0.1.5 and 10.0.1.6
}

TEST_F(AwsProviderTest, ReleaseTerminatesKnownAndSkipsUnknown) {
  std::string a = fake_.Add("running", {});
  std::string b = fake_.Add("running", {});
  ASSERT_TRUE(provider_.Release({a, "i-00000000000000dead", b}).ok());
  EXPECT_EQ(fake_.instances[a].state, "terminated");
  EXPECT_EQ(fake_.instances[b].state, "terminated");
  EXPECT_TRUE(provider_.Release({"i-0dead"}).ok());
  EXPECT_TRUE(provider_.Release({}).ok());
}

TEST_F(AwsProviderTest, ReleaseBatchesByAThousand) {
  std::vector<std::string> ids;
  for (int n = 0; n < 2001; ++n) ids.push_back(fake_.Add("running", {}));
  ASSERT_TRUE(provider_.Release(ids).ok());
  std::vector<FakeAws::Call> calls = fake_.CallsOf("TerminateInstances");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].Count("InstanceId."), 1u);
  for (const std::string& id : ids) ASSERT_EQ(fake_.instances[id].state, "terminated");
}

TEST(LooksLikeIpv4Test, DottedQuadsOnly) {
  EXPECT_TRUE(LooksLikeIpv4("10.0.1.5"));
  EXPECT_TRUE(LooksLikeIpv4("255.255.255.255"));
  EXPECT_FALSE(LooksLikeIpv4("256.0.0.1"));
  EXPECT_FALSE(LooksLikeIpv4("10.0.1"));
  EXPECT_FALSE(LooksLikeIpv4("10.0.1.5.6"));
  EXPECT_FALSE(LooksLikeIpv4("ip-10-0-1-5.ec2.internal"));
  EXPECT_FALSE(LooksLikeIpv4("10..1.5"));
  EXPECT_FALSE(LooksLikeIpv4(""));
}

}  // namespace
}  // namespace ohfp
