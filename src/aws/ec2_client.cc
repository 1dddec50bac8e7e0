#include "aws/ec2_client.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <set>
#include <string_view>
#include <thread>

#include <pugixml.hpp>

#include "aws/xml.h"
#include "core/clock.h"

namespace ohfp::aws {

namespace {

constexpr char kNotFound[] = "InvalidInstanceID.NotFound";
constexpr char kMalformed[] = "InvalidInstanceID.Malformed";

// EC2 lists are "fooSet" elements holding <item> children.
std::vector<pugi::xml_node> Items(const pugi::xml_node& node, std::string_view set_name) {
  return Children(Child(node, set_name), "item");
}

// `parsed` is the outcome of parsing an EC2 answer into `doc`: an error
// naming `action` unless it gave a root element.
Status Loaded(const Status& parsed, const char* action, const pugi::xml_document& doc) {
  if (parsed.ok() && doc.document_element()) return parsed;
  std::string why = parsed.ok() ? "no root element" : parsed.message();
  return Status::Error(ErrorCode::kProviderError,
                       std::string(action) + ": unreadable answer (" + why + ")",
                       {{"action", action}});
}

// Parses an EC2 answer; the namespace (moto omits AWS's trailing '/') is
// ignored by every lookup below, which compares local names only.
Status LoadXml(const std::string& xml, const char* action, pugi::xml_document* doc) {
  return Loaded(ParseXml(xml, doc), action, *doc);
}

Ec2Instance ParseInstance(const pugi::xml_node& item) {
  // One pass over the instance's children (EC2 sends some forty): a lookup
  // per field would walk them ten times, and a poll reads thousands.
  Ec2Instance instance;
  for (pugi::xml_node child = item.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    std::string_view name = LocalName(child);
    if (name == "instanceId") {
      instance.instance_id = child.text().get();
    } else if (name == "instanceState") {
      instance.state = ChildText(child, "name");
    } else if (name == "stateReason") {
      instance.state_reason = ChildText(child, "code");
    } else if (name == "privateDnsName") {
      instance.private_dns_name = child.text().get();
    } else if (name == "privateIpAddress") {
      instance.private_ip = child.text().get();
    } else if (name == "ipAddress") {
      instance.public_ip = child.text().get();
    } else if (name == "instanceType") {
      instance.instance_type = child.text().get();
    } else if (name == "instanceLifecycle") {
      instance.lifecycle = child.text().get();
    } else if (name == "launchTime") {
      std::string launch_time = child.text().get();
      if (!launch_time.empty()) {
        instance.launch_time = std::max<int64_t>(0, ParseIso8601(launch_time));
      }
    } else if (name == "tagSet") {
      for (const pugi::xml_node& tag : Children(child, "item")) {
        instance.tags.emplace_back(ChildText(tag, "key"), ChildText(tag, "value"));
      }
    }
  }
  return instance;
}

std::string FormatDouble(double value) {
  // Shortest text that reads back as the same double, as botocore writes it.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

std::string AwsCode(const Status& status) {
  const nlohmann::json& d = status.details();
  if (d.is_object() && d.contains("aws_code") && d["aws_code"].is_string()) {
    return d["aws_code"].get<std::string>();
  }
  return "";
}

std::string AwsMessage(const Status& status) {
  const nlohmann::json& d = status.details();
  if (d.is_object() && d.contains("aws_message") && d["aws_message"].is_string()) {
    return d["aws_message"].get<std::string>();
  }
  return status.message();
}

std::vector<std::vector<std::string>> Chunks(const std::vector<std::string>& values, size_t size) {
  std::vector<std::vector<std::string>> chunks;
  for (size_t i = 0; i < values.size(); i += size) {
    size_t end = std::min(values.size(), i + size);
    chunks.emplace_back(values.begin() + i, values.begin() + end);
  }
  return chunks;
}

}  // namespace

std::string Ec2Instance::Tag(const std::string& key) const {
  for (const auto& [k, v] : tags) {
    if (k == key) return v;
  }
  return "";
}

std::string Base64Encode(const std::string& data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    if (rest == 2) n |= static_cast<uint8_t>(data[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

QueryParams RunInstancesParams(const RunInstancesInput& input) {
  QueryParams p;
  p.emplace_back("MinCount", std::to_string(input.min_count));
  p.emplace_back("MaxCount", std::to_string(input.max_count));
  if (!input.image_id.empty()) p.emplace_back("ImageId", input.image_id);
  if (!input.instance_type.empty()) p.emplace_back("InstanceType", input.instance_type);
  if (!input.subnet_id.empty()) p.emplace_back("SubnetId", input.subnet_id);
  for (size_t i = 0; i < input.security_group_ids.size(); ++i) {
    p.emplace_back("SecurityGroupId." + std::to_string(i + 1), input.security_group_ids[i]);
  }
  if (!input.key_name.empty()) p.emplace_back("KeyName", input.key_name);
  if (!input.iam_instance_profile.empty()) {
    bool is_arn = input.iam_instance_profile.rfind("arn:", 0) == 0;
    p.emplace_back(is_arn ? "IamInstanceProfile.Arn" : "IamInstanceProfile.Name",
                   input.iam_instance_profile);
  }
  if (!input.user_data.empty()) p.emplace_back("UserData", Base64Encode(input.user_data));
  if (!input.client_token.empty()) p.emplace_back("ClientToken", input.client_token);

  if (!input.tags.empty()) {
    // Volumes carry the same tags so that cost reports and clean-up can find them.
    const char* resource_types[] = {"instance", "volume"};
    for (int spec = 0; spec < 2; ++spec) {
      std::string prefix = "TagSpecification." + std::to_string(spec + 1) + ".";
      p.emplace_back(prefix + "ResourceType", resource_types[spec]);
      for (size_t t = 0; t < input.tags.size(); ++t) {
        std::string tag = prefix + "Tag." + std::to_string(t + 1) + ".";
        p.emplace_back(tag + "Key", input.tags[t].first);
        p.emplace_back(tag + "Value", input.tags[t].second);
      }
    }
  }

  if (input.root_volume) {
    const RootVolume& v = *input.root_volume;
    p.emplace_back("BlockDeviceMapping.1.DeviceName", v.device_name);
    p.emplace_back("BlockDeviceMapping.1.Ebs.VolumeSize", std::to_string(v.size_gib));
    if (!v.volume_type.empty())
      p.emplace_back("BlockDeviceMapping.1.Ebs.VolumeType", v.volume_type);
    if (v.iops > 0) p.emplace_back("BlockDeviceMapping.1.Ebs.Iops", std::to_string(v.iops));
    p.emplace_back("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true");
  }

  if (input.spot) {
    p.emplace_back("InstanceMarketOptions.MarketType", "spot");
    p.emplace_back("InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time");
    p.emplace_back("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate");
    if (input.spot->max_price > 0) {
      p.emplace_back("InstanceMarketOptions.SpotOptions.MaxPrice",
                     FormatDouble(input.spot->max_price));
    }
  }
  return p;
}

void AppendFilterParams(const std::vector<Ec2Filter>& filters, QueryParams* params) {
  for (size_t f = 0; f < filters.size(); ++f) {
    std::string prefix = "Filter." + std::to_string(f + 1) + ".";
    params->emplace_back(prefix + "Name", filters[f].name);
    for (size_t v = 0; v < filters[f].values.size(); ++v) {
      params->emplace_back(prefix + "Value." + std::to_string(v + 1), filters[f].values[v]);
    }
  }
}

Result<Reservation> ParseRunInstancesResponse(const std::string& xml) {
  pugi::xml_document doc;
  OHFP_RETURN_IF_ERROR(LoadXml(xml, "RunInstances", &doc));
  pugi::xml_node root = doc.document_element();
  Reservation reservation;
  reservation.reservation_id = ChildText(root, "reservationId");
  for (const pugi::xml_node& item : Items(root, "instancesSet")) {
    reservation.instances.push_back(ParseInstance(item));
  }
  return reservation;
}

Result<InstancePage> ParseDescribeInstancesResponse(std::string xml) {
  // Parsed in place: a page of 1,000 instances is ~4 MB, and a poll has
  // several pages in flight at once.
  pugi::xml_document doc;
  OHFP_RETURN_IF_ERROR(Loaded(ParseXmlInPlace(&xml, &doc), "DescribeInstances", doc));
  pugi::xml_node root = doc.document_element();
  InstancePage page;
  for (const pugi::xml_node& reservation : Items(root, "reservationSet")) {
    for (const pugi::xml_node& item : Items(reservation, "instancesSet")) {
      page.instances.push_back(ParseInstance(item));
    }
  }
  page.next_token = ChildText(root, "nextToken");
  return page;
}

Result<std::vector<StateChange>> ParseTerminateInstancesResponse(const std::string& xml) {
  pugi::xml_document doc;
  OHFP_RETURN_IF_ERROR(LoadXml(xml, "TerminateInstances", &doc));
  std::vector<StateChange> changes;
  for (const pugi::xml_node& item : Items(doc.document_element(), "instancesSet")) {
    changes.push_back({ChildText(item, "instanceId"), ChildText(item, "previousState/name"),
                       ChildText(item, "currentState/name")});
  }
  return changes;
}

Result<std::string> ParseRootDeviceName(const std::string& xml) {
  pugi::xml_document doc;
  OHFP_RETURN_IF_ERROR(LoadXml(xml, "DescribeImages", &doc));
  std::vector<pugi::xml_node> images = Items(doc.document_element(), "imagesSet");
  if (images.empty()) return Status::NotFound("DescribeImages listed no image");
  std::string root = ChildText(images.front(), "rootDeviceName");
  if (root.empty()) {
    return Status::NotFound("image " + ChildText(images.front(), "imageId") +
                            " has no root device name");
  }
  return root;
}

std::vector<std::string> ParseNotFoundInstanceIds(const std::string& message) {
  // The ids sit between quotes, several of them joined by ", ". Anything else
  // quoted (an "expecting 'i-…'" hint) is harmless: callers only drop ids they
  // actually sent.
  std::vector<std::string> ids;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t open = message.find_first_of("'\"", pos);
    if (open == std::string::npos) break;
    size_t close = message.find(message[open], open + 1);
    if (close == std::string::npos) break;
    std::string_view quoted(message.data() + open + 1, close - open - 1);
    size_t start = 0;
    while (start <= quoted.size()) {
      size_t comma = quoted.find(',', start);
      if (comma == std::string_view::npos) comma = quoted.size();
      std::string_view id = quoted.substr(start, comma - start);
      while (!id.empty() && id.front() == ' ') id.remove_prefix(1);
      while (!id.empty() && id.back() == ' ') id.remove_suffix(1);
      if (!id.empty() && id.find(' ') == std::string_view::npos) ids.emplace_back(id);
      start = comma + 1;
    }
    pos = close + 1;
  }
  return ids;
}

Result<Reservation> Ec2Client::RunInstances(const RunInstancesInput& input) {
  // A repeat after a lost answer launches a second set wherever the client
  // token is not honoured (emulators, a token EC2 no longer remembers): the
  // caller looks for the instances by tag before launching again.
  Result<std::string> body =
      client_->CallQuery("ec2", "RunInstances", kEc2ApiVersion, RunInstancesParams(input),
                         RetryPolicy::kUnlessItMayHaveActed);
  if (!body.ok()) return body.status();
  return ParseRunInstancesResponse(*body);
}

Status Ec2Client::CallWithKnownIds(const std::string& action, std::vector<std::string>* ids,
                                   const QueryParams& extra, std::string* body) {
  assert(ids->size() <= kMaxIdsPerCall);
  body->clear();

  // Each round removes at least one id, so this ends after ≤ ids->size() rounds.
  while (!ids->empty()) {
    QueryParams params;
    params.reserve(ids->size() + extra.size());
    for (size_t i = 0; i < ids->size(); ++i) {
      params.emplace_back("InstanceId." + std::to_string(i + 1), (*ids)[i]);
    }
    params.insert(params.end(), extra.begin(), extra.end());
    Result<std::string> answer = client_->CallQuery("ec2", action, kEc2ApiVersion, params);
    if (answer.ok()) {
      *body = std::move(answer).value();
      return {};
    }

    std::string code = AwsCode(answer.status());
    if (code != kNotFound && code != kMalformed) return answer.status();
    std::vector<std::string> unknown = ParseNotFoundInstanceIds(AwsMessage(answer.status()));
    std::set<std::string> drop(unknown.begin(), unknown.end());
    size_t before = ids->size();
    std::erase_if(*ids, [&](const std::string& id) { return drop.count(id) > 0; });
    if (ids->size() == before) return answer.status();  // names no id we sent
  }
  return {};
}

Result<std::vector<Ec2Instance>> Ec2Client::DescribeBatch(std::vector<std::string> ids,
                                                          std::mutex* parsing) {
  // EC2 answers a call naming instances in one page. Moto pages it by 100
  // reservations and says so with a nextToken, which is followed with the
  // same ids.
  std::vector<Ec2Instance> instances;
  std::string token;
  do {
    QueryParams extra;
    if (!token.empty()) extra.emplace_back("NextToken", token);
    std::string body;
    OHFP_RETURN_IF_ERROR(CallWithKnownIds("DescribeInstances", &ids, extra, &body));
    if (body.empty()) break;
    std::unique_lock<std::mutex> one_at_a_time(*parsing);
    Result<InstancePage> page = ParseDescribeInstancesResponse(std::move(body));
    one_at_a_time.unlock();
    if (!page.ok()) return page.status();
    for (Ec2Instance& i : page->instances) instances.push_back(std::move(i));
    if (!page->next_token.empty() && page->next_token == token) {
      return Status::Provider("DescribeInstances returned the same NextToken twice");
    }
    token = page->next_token;
  } while (!token.empty());
  return instances;
}

Result<std::vector<Ec2Instance>> Ec2Client::DescribeInstances(
    const std::vector<std::string>& instance_ids) {
  std::vector<std::vector<std::string>> batches = Chunks(instance_ids, kMaxIdsPerCall);
  std::vector<Result<std::vector<Ec2Instance>>> found(batches.size(), std::vector<Ec2Instance>{});
  // Batches go out side by side, at most kMaxConcurrentCalls at a time: a
  // poll of 10,000 machines waits for three answers in a row, not ten. The
  // answers are parsed one at a time: a page of 1,000 instances takes ~7 MB
  // as a tree, a few milliseconds to read, against the second or so EC2
  // takes to send it.
  std::atomic<size_t> next{0};
  std::mutex parsing;
  auto work = [&] {
    for (size_t b = next++; b < batches.size(); b = next++) {
      found[b] = DescribeBatch(std::move(batches[b]), &parsing);
    }
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < std::min(batches.size(), kMaxConcurrentCalls); ++t) {
    helpers.emplace_back(work);
  }
  work();
  for (std::thread& t : helpers) t.join();

  std::vector<Ec2Instance> instances;
  for (Result<std::vector<Ec2Instance>>& batch : found) {
    if (!batch.ok()) return batch.status();
    for (Ec2Instance& i : *batch) instances.push_back(std::move(i));
  }
  return instances;
}

Result<std::vector<Ec2Instance>> Ec2Client::DescribeInstances(
    const std::vector<Ec2Filter>& filters) {
  // Every combination of one value chunk per filter: filters AND together and
  // values OR within a filter, so the union over combinations is the answer.
  std::vector<std::vector<Ec2Filter>> combinations = {{}};
  for (const Ec2Filter& filter : filters) {
    if (filter.values.empty()) return std::vector<Ec2Instance>{};  // matches nothing
    std::vector<std::vector<Ec2Filter>> next;
    for (const std::vector<Ec2Filter>& partial : combinations) {
      for (std::vector<std::string>& chunk : Chunks(filter.values, kMaxValuesPerFilter)) {
        next.push_back(partial);
        next.back().push_back({filter.name, std::move(chunk)});
      }
    }
    combinations = std::move(next);
  }

  std::vector<Ec2Instance> instances;
  std::set<std::string> seen;
  for (const std::vector<Ec2Filter>& combination : combinations) {
    std::string token;
    do {
      QueryParams params;
      AppendFilterParams(combination, &params);
      params.emplace_back("MaxResults", std::to_string(kMaxIdsPerCall));
      if (!token.empty()) params.emplace_back("NextToken", token);
      Result<std::string> body =
          client_->CallQuery("ec2", "DescribeInstances", kEc2ApiVersion, params);
      if (!body.ok()) return body.status();
      Result<InstancePage> page = ParseDescribeInstancesResponse(std::move(body).value());
      if (!page.ok()) return page.status();
      for (Ec2Instance& i : page->instances) {
        if (seen.insert(i.instance_id).second) instances.push_back(std::move(i));
      }
      if (!page->next_token.empty() && page->next_token == token) {
        return Status::Provider("DescribeInstances returned the same NextToken twice");
      }
      token = page->next_token;
    } while (!token.empty());
  }
  return instances;
}

Result<std::vector<StateChange>> Ec2Client::TerminateInstances(
    const std::vector<std::string>& instance_ids) {
  std::vector<StateChange> changes;
  for (std::vector<std::string>& batch : Chunks(instance_ids, kMaxIdsPerCall)) {
    std::string body;
    OHFP_RETURN_IF_ERROR(CallWithKnownIds("TerminateInstances", &batch, {}, &body));
    if (body.empty()) continue;
    Result<std::vector<StateChange>> parsed = ParseTerminateInstancesResponse(body);
    if (!parsed.ok()) return parsed.status();
    for (StateChange& c : *parsed) changes.push_back(std::move(c));
  }
  return changes;
}

Result<std::string> Ec2Client::DescribeImageRootDevice(const std::string& image_id) {
  Result<std::string> body =
      client_->CallQuery("ec2", "DescribeImages", kEc2ApiVersion, {{"ImageId.1", image_id}});
  if (!body.ok()) return body.status();
  return ParseRootDeviceName(*body);
}

}  // namespace ohfp::aws
