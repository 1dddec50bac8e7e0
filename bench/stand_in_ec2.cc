#include "stand_in_ec2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>
#include <string_view>

#include "aws/form.h"
#include "core/ascii.h"

namespace ohfp::bench {
namespace {

// How often a thread blocked on a socket looks at the stop flag: the
// destructor waits at most about this long for each.
constexpr int kPollMs = 100;
constexpr size_t kMaxHeadBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;
constexpr char kRegion[] = "us-east-1";
constexpr char kOwnerId[] = "123456789012";

// "i-" + 17 hex digits, as EC2 writes its ids.
std::string Id(const char* prefix, uint64_t serial) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s-%017llx", prefix, static_cast<unsigned long long>(serial));
  return buf;
}

std::string IsoTime(int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

// Appends `text` to `*xml` with XML's special characters escaped.
void AppendEscaped(std::string_view text, std::string* xml) {
  for (char c : text) {
    switch (c) {
      case '&':
        *xml += "&amp;";
        break;
      case '<':
        *xml += "&lt;";
        break;
      case '>':
        *xml += "&gt;";
        break;
      case '"':
        *xml += "&quot;";
        break;
      default:
        *xml += c;
    }
  }
}

// Appends <name>value</name>; values are escaped, since tags come from
// whoever launched.
void Element(std::string* xml, std::string_view name, std::string_view value) {
  *xml += '<';
  *xml += name;
  *xml += '>';
  AppendEscaped(value, xml);
  *xml += "</";
  *xml += name;
  *xml += '>';
}

int ErrorAnswer(const std::string& code, const std::string& message, const std::string& request_id,
                std::string* xml) {
  *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>";
  Element(xml, "Code", code);
  Element(xml, "Message", message);
  *xml += "</Error></Errors>";
  Element(xml, "RequestID", request_id);
  *xml += "</Response>";
  return 400;
}

// Reads what the peer sends next onto `*in`. False when it closed, the
// read failed or the server is stopping.
bool ReadMore(int fd, const std::atomic<bool>& stopping, std::string* in) {
  for (;;) {
    if (stopping) return false;
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, kPollMs);
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    char buf[64 * 1024];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    in->append(buf, static_cast<size_t>(n));
    return true;
  }
}

bool SendAll(int fd, std::string_view data, int flags) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), flags | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// What the server needs from a request head.
struct Head {
  bool ok = false;
  size_t content_length = 0;
  bool close = false;  // the client asked for it, or speaks HTTP/1.0
};

Head ParseHead(std::string_view head) {
  Head h;
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  if (line.rfind("POST / ", 0) != 0) return h;
  h.close = line.ends_with("HTTP/1.0");
  while (eol != std::string_view::npos) {
    size_t start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view header = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    size_t colon = header.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = header.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    const std::string name = AsciiLower(header.substr(0, colon));
    if (name == "content-length") {
      h.content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
    } else if (name == "connection") {
      h.close = EqualsIgnoringCase(value, "close");
    } else if (name == "transfer-encoding") {
      return h;  // only Content-Length bodies: ohfp sends nothing else
    }
  }
  h.ok = h.content_length <= kMaxBodyBytes;
  return h;
}

}  // namespace

Result<std::unique_ptr<StandInEc2>> StandInEc2::Start() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Internal(std::string("stand-in EC2: socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only, ever
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Status s = Status::Internal(std::string("stand-in EC2: listen: ") + std::strerror(errno));
    ::close(fd);
    return s;
  }
  std::unique_ptr<StandInEc2> server(new StandInEc2(fd, ntohs(addr.sin_port)));
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

StandInEc2::StandInEc2(int listen_fd, int port) : listen_fd_(listen_fd), port_(port) {}

StandInEc2::~StandInEc2() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& c : connections_) c->thread.join();
  ::close(listen_fd_);
}

std::string StandInEc2::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string StandInEc2::region() const { return kRegion; }

aws::Credentials StandInEc2::credentials() const { return {"testing", "testing", "", 0}; }

devenv::Network StandInEc2::network() const {
  return {"vpc-0be11c4a1d0e5a7b1", "subnet-0be11c4a1d0e5a7b2", "sg-0be11c4a1d0e5a7b3"};
}

std::vector<std::string> StandInEc2::Launch(const aws::RunInstancesInput& input) {
  std::unique_lock lock(instances_mu_);
  launches_.push_back(std::make_unique<aws::RunInstancesInput>(input));
  const std::string reservation = Id("r", next_serial_);
  const int64_t now = std::time(nullptr);
  std::vector<std::string> ids;
  for (int64_t k = 0; k < input.max_count; ++k) {
    uint64_t serial = next_serial_++;
    ids.push_back(Id("i", serial));
    instances_[ids.back()] = {serial, reservation, now, launches_.back().get()};
  }
  return ids;
}

StandInEc2::Counts StandInEc2::counts() const {
  std::lock_guard lock(counts_mu_);
  return counts_;
}

void StandInEc2::ResetCounts() {
  std::lock_guard lock(counts_mu_);
  counts_ = Counts{};
}

void StandInEc2::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // Without it Nagle could hold an answer's last segment back until the
    // client's delayed ACK: up to 40 ms on an answer that took 2.
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // A client that stops reading must not hang the destructor.
    timeval send_timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);

    // Every ohfp process opens connections of its own: threads of the ones
    // that ended are joined here, so a long run does not pile them up.
    std::erase_if(connections_, [](const std::unique_ptr<Connection>& c) {
      if (!c->done) return false;
      c->thread.join();
      return true;
    });
    auto connection = std::make_unique<Connection>();
    Connection* c = connection.get();
    c->thread = std::thread([this, fd, c] {
      Serve(fd);
      ::close(fd);
      c->done = true;
    });
    connections_.push_back(std::move(connection));
  }
}

void StandInEc2::Serve(int fd) {
  std::string in;  // bytes received and not yet consumed
  for (;;) {
    size_t head_end;
    while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
      if (in.size() > kMaxHeadBytes || !ReadMore(fd, stopping_, &in)) return;
    }
    Head head = ParseHead(std::string_view(in).substr(0, head_end));
    std::string xml;
    int status = 400;
    if (!head.ok) {
      ErrorAnswer("InvalidRequest", "the stand-in EC2 serves POST / with a Content-Length body",
                  Id("req", next_request_id_++), &xml);
      head.close = true;
    } else {
      const size_t end = head_end + 4 + head.content_length;
      while (in.size() < end) {
        if (!ReadMore(fd, stopping_, &in)) return;
      }
      std::string body = in.substr(head_end + 4, head.content_length);
      in.erase(0, end);

      {
        std::lock_guard lock(counts_mu_);
        ++counts_.calls;
        counts_.max_in_flight = std::max(counts_.max_in_flight, ++in_flight_);
      }
      status = Answer(body, &xml);
    }

    std::string answer_head =
        "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Bad Request") +
        "\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: " +
        std::to_string(xml.size()) + "\r\n" + (head.close ? "Connection: close\r\n" : "") + "\r\n";
    // MSG_MORE: the head leaves with the first segment of the body.
    bool sent = SendAll(fd, answer_head, MSG_MORE) && SendAll(fd, xml, 0);
    if (head.ok) {
      std::lock_guard lock(counts_mu_);
      --in_flight_;
    }
    if (!sent || head.close) return;
  }
}

int StandInEc2::Answer(const std::string& body, std::string* xml) {
  const std::string request_id = Id("req", next_request_id_++);
  std::string action;
  std::vector<std::string> ids;
  std::string unserved;  // the first parameter the stand-in does not serve
  for (auto& [name, value] : aws::ParseFormBody(body)) {
    if (name == "Action") {
      action = value;
    } else if (name.rfind("InstanceId.", 0) == 0) {
      ids.push_back(std::move(value));
    } else if (name != "Version" && unserved.empty()) {
      unserved = name;
    }
  }
  if (action != "DescribeInstances") {
    return ErrorAnswer("InvalidAction",
                       "The action " + action +
                           " is not valid for this web service (the bench's stand-in EC2 "
                           "answers DescribeInstances only)",
                       request_id, xml);
  }
  if (ids.empty() || !unserved.empty()) {
    return ErrorAnswer("UnsupportedOperation",
                       "the bench's stand-in EC2 answers DescribeInstances of InstanceId.N "
                       "only" +
                           (unserved.empty() ? "" : ", not " + unserved),
                       request_id, xml);
  }
  return DescribeInstances(ids, request_id, xml);
}

int StandInEc2::DescribeInstances(const std::vector<std::string>& ids,
                                  const std::string& request_id, std::string* xml) const {
  std::shared_lock lock(instances_mu_);
  std::vector<std::string> unknown;
  for (const std::string& id : ids) {
    if (!instances_.count(id)) unknown.push_back(id);
  }
  if (!unknown.empty()) {
    // EC2's words, which ohfp reads to retry without those ids.
    std::string list;
    for (const std::string& id : unknown) list += (list.empty() ? "" : ", ") + id;
    return ErrorAnswer("InvalidInstanceID.NotFound",
                       unknown.size() == 1 ? "The instance ID '" + list + "' does not exist"
                                           : "The instance IDs '" + list + "' do not exist",
                       request_id, xml);
  }

  *xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeInstancesResponse "
      "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">";
  xml->reserve(ids.size() * 3500);  // about one instance item each
  Element(xml, "requestId", request_id);
  *xml += "<reservationSet>";
  // One reservation item per run of ids launched together, in the order
  // asked; EC2 names an instance once however often it is asked for.
  std::set<std::string_view> seen;
  std::string_view reservation;
  for (const std::string& id : ids) {
    if (!seen.insert(id).second) continue;
    const Instance& instance = instances_.at(id);
    if (instance.reservation_id != reservation) {
      if (!reservation.empty()) *xml += "</instancesSet></item>";
      reservation = instance.reservation_id;
      *xml += "<item>";
      Element(xml, "reservationId", reservation);
      Element(xml, "ownerId", kOwnerId);
      *xml += "<groupSet/><instancesSet>";
    }
    AppendInstance(id, instance, xml);
  }
  if (!reservation.empty()) *xml += "</instancesSet></item>";
  *xml += "</reservationSet></DescribeInstancesResponse>";
  return 200;
}

void StandInEc2::AppendInstance(const std::string& id, const Instance& instance,
                                std::string* xml) const {
  const aws::RunInstancesInput& in = *instance.launch;
  const uint64_t s = instance.serial;
  const std::string ip = "10." + std::to_string((s >> 16) & 255) + "." +
                         std::to_string((s >> 8) & 255) + "." + std::to_string(s & 255);
  std::string dashed = ip;
  std::replace(dashed.begin(), dashed.end(), '.', '-');
  const std::string dns = "ip-" + dashed + ".ec2.internal";
  char mac[32];
  std::snprintf(mac, sizeof mac, "02:00:%02x:%02x:%02x:%02x", unsigned((s >> 24) & 255),
                unsigned((s >> 16) & 255), unsigned((s >> 8) & 255), unsigned(s & 255));
  const std::string launched = IsoTime(instance.launch_time);
  const std::string group = in.security_group_ids.empty() ? "" : in.security_group_ids.front();
  const std::string vpc = network().vpc_id;
  auto group_set = [&] {
    *xml += "<groupSet><item>";
    Element(xml, "groupId", group);
    Element(xml, "groupName", "bench");
    *xml += "</item></groupSet>";
  };

  *xml += "<item>";
  Element(xml, "instanceId", id);
  Element(xml, "imageId", in.image_id);
  *xml += "<instanceState><code>16</code><name>running</name></instanceState>";
  Element(xml, "privateDnsName", dns);
  *xml += "<dnsName/><reason/><amiLaunchIndex>0</amiLaunchIndex><productCodes/>";
  Element(xml, "instanceType", in.instance_type);
  Element(xml, "launchTime", launched);
  *xml += "<placement>";
  Element(xml, "availabilityZone", std::string(kRegion) + "a");
  *xml += "<groupName/><tenancy>default</tenancy></placement>";
  *xml += "<monitoring><state>disabled</state></monitoring>";
  Element(xml, "subnetId", in.subnet_id);
  Element(xml, "vpcId", vpc);
  Element(xml, "privateIpAddress", ip);
  *xml += "<sourceDestCheck>true</sourceDestCheck>";
  group_set();
  *xml += "<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>";
  *xml += "<rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping><item>";
  *xml += "<deviceName>/dev/xvda</deviceName><ebs>";
  Element(xml, "volumeId", Id("vol", s));
  *xml += "<status>attached</status>";
  Element(xml, "attachTime", launched);
  *xml += "<deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping>";
  *xml += "<virtualizationType>hvm</virtualizationType>";
  Element(xml, "clientToken", in.client_token);
  *xml += "<tagSet>";
  for (const auto& [key, value] : in.tags) {
    *xml += "<item>";
    Element(xml, "key", key);
    Element(xml, "value", value);
    *xml += "</item>";
  }
  *xml += "</tagSet><hypervisor>xen</hypervisor><networkInterfaceSet><item>";
  Element(xml, "networkInterfaceId", Id("eni", s));
  Element(xml, "subnetId", in.subnet_id);
  Element(xml, "vpcId", vpc);
  *xml += "<description/>";
  Element(xml, "ownerId", kOwnerId);
  *xml += "<status>in-use</status>";
  Element(xml, "macAddress", mac);
  Element(xml, "privateIpAddress", ip);
  Element(xml, "privateDnsName", dns);
  *xml += "<sourceDestCheck>true</sourceDestCheck>";
  group_set();
  *xml += "<attachment>";
  Element(xml, "attachmentId", Id("eni-attach", s));
  *xml += "<deviceIndex>0</deviceIndex><status>attached</status>";
  Element(xml, "attachTime", launched);
  *xml += "<deleteOnTermination>true</deleteOnTermination>";
  *xml += "<networkCardIndex>0</networkCardIndex></attachment><privateIpAddressesSet><item>";
  Element(xml, "privateIpAddress", ip);
  Element(xml, "privateDnsName", dns);
  *xml += "<primary>true</primary></item></privateIpAddressesSet><ipv6AddressesSet/>";
  *xml += "<interfaceType>interface</interfaceType></item></networkInterfaceSet>";
  *xml += "<ebsOptimized>false</ebsOptimized><enaSupport>true</enaSupport>";
  *xml += "<cpuOptions><coreCount>1</coreCount><threadsPerCore>2</threadsPerCore></cpuOptions>";
  *xml +=
      "<capacityReservationSpecification><capacityReservationPreference>open"
      "</capacityReservationPreference></capacityReservationSpecification>";
  *xml += "<hibernationOptions><configured>false</configured></hibernationOptions>";
  *xml +=
      "<metadataOptions><state>applied</state><httpTokens>required</httpTokens>"
      "<httpPutResponseHopLimit>2</httpPutResponseHopLimit><httpEndpoint>enabled"
      "</httpEndpoint><httpProtocolIpv6>disabled</httpProtocolIpv6><instanceMetadataTags>"
      "disabled</instanceMetadataTags></metadataOptions>";
  *xml += "<enclaveOptions><enabled>false</enabled></enclaveOptions>";
  *xml +=
      "<platformDetails>Linux/UNIX</platformDetails><usageOperation>RunInstances"
      "</usageOperation>";
  *xml +=
      "<privateDnsNameOptions><hostnameType>ip-name</hostnameType>"
      "<enableResourceNameDnsARecord>false</enableResourceNameDnsARecord>"
      "<enableResourceNameDnsAAAARecord>false</enableResourceNameDnsAAAARecord>"
      "</privateDnsNameOptions>";
  *xml += "<maintenanceOptions><autoRecovery>default</autoRecovery></maintenanceOptions>";
  *xml += "<currentInstanceBootMode>legacy-bios</currentInstanceBootMode></item>";
}

}  // namespace ohfp::bench
