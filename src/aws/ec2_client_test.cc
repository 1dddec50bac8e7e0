#include "aws/ec2_client.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace ohfp::aws {
namespace {

std::map<std::string, std::string> AsMap(const QueryParams& params) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : params) {
    EXPECT_TRUE(m.emplace(k, v).second) << "parameter sent twice: " << k;
  }
  return m;
}

// Captured from moto 5.2.1 (namespace without the trailing '/'). The network
// interface repeats privateDnsName/privateIpAddress one level down, which a
// parser searching descendants instead of children would pick up.
constexpr char kMotoDescribeInstances[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
    "\n<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\">"
    "<reservationSet><item><reservationId>r-25b26a97aeb1c4dd4</reservationId><ownerId>"
    "123456789012</ownerId><groupSet/><instancesSet><item><architecture>x86_64</architecture>"
    "<blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><attachTime>"
    "2026-12-03T21:41:56.000Z</attachTime><deleteOnTermination>true</deleteOnTermination>"
    "<status>attached</status><volumeId>vol-878cddb6d929814f5</volumeId></ebs></item>"
    "</blockDeviceMapping><clientToken>ABCDE</clientToken><ebsOptimized>false</ebsOptimized>"
    "<hypervisor>xen</hypervisor><instanceLifecycle>spot</instanceLifecycle>"
    "<networkInterfaceSet><item><association><ipOwnerId>123456789012</ipOwnerId>"
    "<publicDnsName>ip-54-214-0-154.ec2.internal</publicDnsName><publicIp>"
    "54.214.0.154</publicIp></association><attachment><attachTime>"
    "2026-12-03T21:41:56.000Z</attachTime><attachmentId>"
    "eni-attach-184c53f621ff5ec6d</attachmentId><deleteOnTermination>"
    "false</deleteOnTermination><deviceIndex>0</deviceIndex><status>attached</status>"
    "<networkCardIndex>0</networkCardIndex></attachment><description>"
    "Primary network interface</description><groupSet><item><groupId>"
    "sg-0d1b2e225c9b5079d</groupId><groupName>default</groupName></item></groupSet>"
    "<ipv6AddressesSet/><macAddress>02:00:00:ba:1a:3d</macAddress><networkInterfaceId>"
    "eni-93e09adfd39556f5b</networkInterfaceId><ownerId>123456789012</ownerId>"
    "<privateDnsName>ip-10-9-9-9.ec2.internal</privateDnsName><privateIpAddress>"
    "10.9.9.9</privateIpAddress><privateIpAddressesSet><item><association><ipOwnerId>"
    "123456789012</ipOwnerId><publicDnsName>ip-54-214-0-154.ec2.internal</publicDnsName>"
    "<publicIp>54.214.0.154</publicIp></association><primary>true</primary><privateIpAddress>"
    "10.222.34.123</privateIpAddress></item></privateIpAddressesSet><sourceDestCheck>"
    "true</sourceDestCheck><status>in-use</status><subnetId>"
    "subnet-90520b05d54c27bf7</subnetId><vpcId>vpc-343d2b95103e0e89a</vpcId><interfaceType>"
    "interface</interfaceType></item></networkInterfaceSet><rootDeviceName>"
    "/dev/xvda</rootDeviceName><rootDeviceType>ebs</rootDeviceType><groupSet/>"
    "<sourceDestCheck>true</sourceDestCheck><sriovNetSupport>simple</sriovNetSupport>"
    "<stateReason><code/><message/></stateReason><tagSet><item><key>ohfp:request-id</key>"
    "<value>req-1</value></item><item><key>Name</key><value></value></item></tagSet>"
    "<virtualizationType>hvm</virtualizationType><hibernationOptions/><metadataOptions>"
    "<state>applied</state><httpTokens>optional</httpTokens><httpPutResponseHopLimit>"
    "1</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint><httpProtocolIpv6>"
    "disabled</httpProtocolIpv6><instanceMetadataTags>disabled</instanceMetadataTags>"
    "</metadataOptions><instanceId>i-a3445e528577435c7</instanceId><imageId>"
    "ami-0ed094fb1304fd857</imageId><instanceState><code>16</code><name>running</name>"
    "</instanceState><privateDnsName>ip-10-222-34-123.ec2.internal</privateDnsName><dnsName>"
    "ec2-54-214-0-154.compute-1.amazonaws.com</dnsName><reason/><amiLaunchIndex>"
    "0</amiLaunchIndex><productCodes/><instanceType>t3.micro</instanceType><launchTime>"
    "2026-12-03T21:41:56.000Z</launchTime><placement><groupName/><tenancy>default</tenancy>"
    "<availabilityZone>us-east-1a</availabilityZone></placement><monitoring><state>"
    "disabled</state></monitoring><subnetId>subnet-90520b05d54c27bf7</subnetId><vpcId>"
    "vpc-343d2b95103e0e89a</vpcId><privateIpAddress>10.222.34.123</privateIpAddress>"
    "<ipAddress>54.214.0.154</ipAddress></item></instancesSet></item></reservationSet>"
    "<requestId>request-id</requestId></DescribeInstancesResponse>";

// Real-AWS shape: namespace with '/', two reservations, a terminated
// on-demand instance without network fields, and a nextToken.
constexpr char kAwsDescribeInstances[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "\n<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    "\n  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>\n  <reservationSet>"
    "\n    <item>\n      <reservationId>r-1111</reservationId>\n      <ownerId>"
    "123456789012</ownerId>\n      <instancesSet>\n        <item>\n          <instanceId>"
    "i-0aaa</instanceId>\n          <imageId>ami-1</imageId>\n          <instanceState><code>"
    "0</code><name>pending</name></instanceState>\n          <privateDnsName>"
    "ip-10-0-1-4.ec2.internal</privateDnsName>\n          <dnsName/>"
    "\n          <instanceType>m5.large</instanceType>\n          <launchTime>"
    "2026-01-02T03:04:05.000Z</launchTime>\n          <privateIpAddress>"
    "10.0.1.4</privateIpAddress>\n          <tagSet>\n            <item><key>"
    "ohfp:template-id</key><value>tmpl-a</value></item>\n          </tagSet>\n        </item>"
    "\n        <item>\n          <instanceId>i-0bbb</instanceId>\n          <instanceState>"
    "<code>48</code><name>terminated</name></instanceState>\n          <stateReason>"
    "\n            <code>Server.SpotInstanceTermination</code>\n            <message>"
    "Server.SpotInstanceTermination: Spot instance termination</message>"
    "\n          </stateReason>\n          <privateDnsName/>\n          <instanceType>"
    "c5.xlarge</instanceType>\n          <instanceLifecycle>spot</instanceLifecycle>"
    "\n          <launchTime>2026-01-02T03:04:06Z</launchTime>\n        </item>"
    "\n      </instancesSet>\n    </item>\n    <item>\n      <reservationId>"
    "r-2222</reservationId>\n      <instancesSet>\n        <item>\n          <instanceId>"
    "i-0ccc</instanceId>\n          <instanceState><code>16</code><name>running</name>"
    "</instanceState>\n          <launchTime>garbage</launchTime>\n        </item>"
    "\n      </instancesSet>\n    </item>\n  </reservationSet>\n  <nextToken>"
    "eyJ2IjoiMiJ9</nextToken>\n</DescribeInstancesResponse>";

TEST(RunInstancesParamsTest, FullInputUsesEc2WireNames) {
  RunInstancesInput in;
  in.image_id = "ami-1";
  in.instance_type = "t3.micro";
  in.min_count = 2;
  in.max_count = 2;
  in.subnet_id = "subnet-1";
  in.security_group_ids = {"sg-1", "sg-2"};
  in.key_name = "kp";
  in.iam_instance_profile = "arn:aws:iam::123456789012:instance-profile/hf";
  in.user_data = "#!/bin/sh\n";
  in.client_token = "tok";
  in.tags = {{"k", "v"}, {"ohfp:request-id", "req-1"}};
  in.root_volume = RootVolume{"/dev/xvda", 20, "gp3", 3000};
  in.spot = SpotMarket{0.1};

  std::map<std::string, std::string> expected = {
      {"MinCount", "2"},
      {"MaxCount", "2"},
      {"ImageId", "ami-1"},
      {"InstanceType", "t3.micro"},
      {"SubnetId", "subnet-1"},
      {"SecurityGroupId.1", "sg-1"},
      {"SecurityGroupId.2", "sg-2"},
      {"KeyName", "kp"},
      {"IamInstanceProfile.Arn", "arn:aws:iam::123456789012:instance-profile/hf"},
      {"UserData", "IyEvYmluL3NoCg=="},  // the base64 in aws-wire-examples.txt
      {"ClientToken", "tok"},
      {"TagSpecification.1.ResourceType", "instance"},
      {"TagSpecification.1.Tag.1.Key", "k"},
      {"TagSpecification.1.Tag.1.Value", "v"},
      {"TagSpecification.1.Tag.2.Key", "ohfp:request-id"},
      {"TagSpecification.1.Tag.2.Value", "req-1"},
      {"TagSpecification.2.ResourceType", "volume"},
      {"TagSpecification.2.Tag.1.Key", "k"},
      {"TagSpecification.2.Tag.1.Value", "v"},
      {"TagSpecification.2.Tag.2.Key", "ohfp:request-id"},
      {"TagSpecification.2.Tag.2.Value", "req-1"},
      {"BlockDeviceMapping.1.DeviceName", "/dev/xvda"},
      {"BlockDeviceMapping.1.Ebs.VolumeSize", "20"},
      {"BlockDeviceMapping.1.Ebs.VolumeType", "gp3"},
      {"BlockDeviceMapping.1.Ebs.Iops", "3000"},
      {"BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true"},
      {"InstanceMarketOptions.MarketType", "spot"},
      {"InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time"},
      {"InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate"},
      {"InstanceMarketOptions.SpotOptions.MaxPrice", "0.1"},
  };
  EXPECT_EQ(AsMap(RunInstancesParams(in)), expected);
}

TEST(RunInstancesParamsTest, MinimalInputSendsOnlyWhatIsSet) {
  RunInstancesInput in;
  in.image_id = "ami-1";
  in.instance_type = "t3.micro";
  in.min_count = 1;
  in.max_count = 1;
  std::map<std::string, std::string> expected = {
      {"MinCount", "1"}, {"MaxCount", "1"}, {"ImageId", "ami-1"}, {"InstanceType", "t3.micro"}};
  EXPECT_EQ(AsMap(RunInstancesParams(in)), expected);
}

TEST(RunInstancesParamsTest, ProfileNameAndSpotWithoutPrice) {
  RunInstancesInput in;
  in.iam_instance_profile = "hf-profile";
  in.spot = SpotMarket{};
  in.root_volume = RootVolume{"/dev/sda1", 50, "gp2", 0};
  std::map<std::string, std::string> m = AsMap(RunInstancesParams(in));
  EXPECT_EQ(m["IamInstanceProfile.Name"], "hf-profile");
  EXPECT_EQ(m.count("IamInstanceProfile.Arn"), 0u);
  EXPECT_EQ(m["InstanceMarketOptions.MarketType"], "spot");
  EXPECT_EQ(m.count("InstanceMarketOptions.SpotOptions.MaxPrice"), 0u);
  EXPECT_EQ(m.count("BlockDeviceMapping.1.Ebs.Iops"), 0u);
  EXPECT_EQ(m["BlockDeviceMapping.1.DeviceName"], "/dev/sda1");
  EXPECT_EQ(m["BlockDeviceMapping.1.Ebs.VolumeSize"], "50");
}

TEST(RunInstancesParamsTest, MaxPriceIsWrittenShortest) {
  RunInstancesInput in;
  in.spot = SpotMarket{0.0305};
  EXPECT_EQ(AsMap(RunInstancesParams(in))["InstanceMarketOptions.SpotOptions.MaxPrice"], "0.0305");
  in.spot = SpotMarket{2};
  EXPECT_EQ(AsMap(RunInstancesParams(in))["InstanceMarketOptions.SpotOptions.MaxPrice"], "2");
}

TEST(FilterParamsTest, FlattensNamesAndValues) {
  QueryParams p;
  AppendFilterParams({{"tag:k", {"v1", "v2"}}, {"instance-state-name", {"running"}}}, &p);
  QueryParams expected = {{"Filter.1.Name", "tag:k"},
                          {"Filter.1.Value.1", "v1"},
                          {"Filter.1.Value.2", "v2"},
                          {"Filter.2.Name", "instance-state-name"},
                          {"Filter.2.Value.1", "running"}};
  EXPECT_EQ(p, expected);
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(ParseDescribeInstancesTest, MotoAnswerReadsInstanceLevelFields) {
  Result<InstancePage> page = ParseDescribeInstancesResponse(kMotoDescribeInstances);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->instances.size(), 1u);
  const Ec2Instance& i = page->instances[0];
  EXPECT_EQ(i.instance_id, "i-a3445e528577435c7");
  EXPECT_EQ(i.state, "running");
  EXPECT_EQ(i.state_reason, "");
  EXPECT_EQ(i.private_dns_name, "ip-10-222-34-123.ec2.internal");
  EXPECT_EQ(i.private_ip, "10.222.34.123");
  EXPECT_EQ(i.public_ip, "54.214.0.154");
  EXPECT_EQ(i.instance_type, "t3.micro");
  EXPECT_EQ(i.lifecycle, "spot");
  EXPECT_EQ(i.launch_time, 1796334116);  // 2026-12-03T21:41:56Z
  EXPECT_EQ(i.Tag("ohfp:request-id"), "req-1");
  EXPECT_EQ(i.Tag("Name"), "");
  EXPECT_EQ(i.Tag("absent"), "");
  ASSERT_EQ(i.tags.size(), 2u);
  EXPECT_EQ(page->next_token, "");
}

TEST(ParseDescribeInstancesTest, AwsAnswerWithReservationsStateReasonAndToken) {
  Result<InstancePage> page = ParseDescribeInstancesResponse(kAwsDescribeInstances);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->instances.size(), 3u);
  EXPECT_EQ(page->instances[0].instance_id, "i-0aaa");
  EXPECT_EQ(page->instances[0].state, "pending");
  EXPECT_EQ(page->instances[0].launch_time, 1767323045);  // 2026-01-02T03:04:05Z
  EXPECT_EQ(page->instances[0].Tag("ohfp:template-id"), "tmpl-a");
  EXPECT_EQ(page->instances[0].lifecycle, "");
  EXPECT_EQ(page->instances[1].state, "terminated");
  EXPECT_EQ(page->instances[1].state_reason, "Server.SpotInstanceTermination");
  EXPECT_EQ(page->instances[1].private_dns_name, "");
  EXPECT_EQ(page->instances[1].lifecycle, "spot");
  EXPECT_EQ(page->instances[1].launch_time, 1767323046);
  EXPECT_EQ(page->instances[2].instance_id, "i-0ccc");
  EXPECT_EQ(page->instances[2].launch_time, 0);  // unparsable, not -1
  EXPECT_EQ(page->next_token, "eyJ2IjoiMiJ9");
}

TEST(ParseDescribeInstancesTest, PrefixedNamespaceIsIgnored) {
  const char* xml = R"(<ec2:DescribeInstancesResponse xmlns:ec2="urn:x">
    <ec2:reservationSet><ec2:item><ec2:instancesSet><ec2:item>
      <ec2:instanceId>i-1</ec2:instanceId>
      <ec2:instanceState><ec2:name>running</ec2:name></ec2:instanceState>
    </ec2:item></ec2:instancesSet></ec2:item></ec2:reservationSet>
  </ec2:DescribeInstancesResponse>)";
  Result<InstancePage> page = ParseDescribeInstancesResponse(xml);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->instances.size(), 1u);
  EXPECT_EQ(page->instances[0].instance_id, "i-1");
  EXPECT_EQ(page->instances[0].state, "running");
}

TEST(ParseDescribeInstancesTest, EmptyAnswerAndGarbage) {
  Result<InstancePage> empty = ParseDescribeInstancesResponse(
      R"(<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">)"
      R"(<requestId>x</requestId><reservationSet/></DescribeInstancesResponse>)");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->instances.empty());

  Result<InstancePage> bad = ParseDescribeInstancesResponse("<html><body>Internal");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kProviderError);
  EXPECT_FALSE(ParseDescribeInstancesResponse("").ok());
}

TEST(ParseRunInstancesTest, ReservationAndInstances) {
  const char* xml =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
      "\n<RunInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\">"
      "<reservationId>r-25b26a97aeb1c4dd4</reservationId><ownerId>123456789012</ownerId>"
      "<groupSet/><instancesSet><item><instanceLifecycle>spot</instanceLifecycle>"
      "<networkInterfaceSet><item><privateDnsName>ip-1-1-1-1.ec2.internal</privateDnsName>"
      "</item></networkInterfaceSet><stateReason><code/><message/></stateReason><tagSet><item>"
      "<key>ohfp:request-id</key><value>req-1</value></item></tagSet><instanceId>"
      "i-a3445e528577435c7</instanceId><imageId>ami-0ed094fb1304fd857</imageId><instanceState>"
      "<code>0</code><name>pending</name></instanceState><privateDnsName>"
      "ip-10-222-34-123.ec2.internal</privateDnsName><instanceType>t3.micro</instanceType>"
      "<launchTime>2026-12-03T21:41:56.000Z</launchTime><privateIpAddress>"
      "10.222.34.123</privateIpAddress><ipAddress>54.214.0.154</ipAddress></item><item>"
      "<instanceId>i-f23ff9536ea97d344</instanceId><instanceState><code>0</code><name>"
      "pending</name></instanceState><privateDnsName>"
      "ip-10-108-233-207.ec2.internal</privateDnsName><instanceType>t3.micro</instanceType>"
      "</item></instancesSet><requestId>request-id</requestId></RunInstancesResponse>";
  Result<Reservation> r = ParseRunInstancesResponse(xml);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->reservation_id, "r-25b26a97aeb1c4dd4");
  ASSERT_EQ(r->instances.size(), 2u);
  EXPECT_EQ(r->instances[0].instance_id, "i-a3445e528577435c7");
  EXPECT_EQ(r->instances[0].state, "pending");
  EXPECT_EQ(r->instances[0].private_dns_name, "ip-10-222-34-123.ec2.internal");
  EXPECT_EQ(r->instances[0].Tag("ohfp:request-id"), "req-1");
  EXPECT_EQ(r->instances[1].instance_id, "i-f23ff9536ea97d344");
  EXPECT_EQ(r->instances[1].private_dns_name, "ip-10-108-233-207.ec2.internal");
}

TEST(ParseTerminateInstancesTest, StateChanges) {
  const char* xml =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
      "\n<TerminateInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\">"
      "<instancesSet><item><instanceId>i-a3445e528577435c7</instanceId><currentState><code>"
      "32</code><name>shutting-down</name></currentState><previousState><code>16</code><name>"
      "running</name></previousState></item><item><instanceId>i-2</instanceId><currentState>"
      "<code>48</code><name>terminated</name></currentState><previousState><code>48</code>"
      "<name>terminated</name></previousState></item></instancesSet><requestId>"
      "request-id</requestId></TerminateInstancesResponse>";
  Result<std::vector<StateChange>> changes = ParseTerminateInstancesResponse(xml);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ((*changes)[0].instance_id, "i-a3445e528577435c7");
  EXPECT_EQ((*changes)[0].previous_state, "running");
  EXPECT_EQ((*changes)[0].current_state, "shutting-down");
  EXPECT_EQ((*changes)[1].current_state, "terminated");
}

TEST(ParseRootDeviceNameTest, ImageAndNoImage) {
  const char* xml =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
      "\n<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\"><imagesSet>"
      "<item><blockDeviceMapping><item><ebs><deleteOnTermination>false</deleteOnTermination>"
      "<snapshotId>snap-f693ec55ca7dbf4ac</snapshotId><volumeSize>15</volumeSize><volumeType>"
      "standard</volumeType></ebs><deviceName>/dev/sdb</deviceName></item></blockDeviceMapping>"
      "<name>al2023-ami-2023.11.20260427.1-kernel-6.1-x86_64</name><rootDeviceName>"
      "/dev/xvda</rootDeviceName><rootDeviceType>ebs</rootDeviceType><imageId>"
      "ami-0ed094fb1304fd857</imageId></item></imagesSet><requestId>request-id</requestId>"
      "</DescribeImagesResponse>";
  Result<std::string> root = ParseRootDeviceName(xml);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, "/dev/xvda");

  Result<std::string> none =
      ParseRootDeviceName(R"(<DescribeImagesResponse><imagesSet/></DescribeImagesResponse>)");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound);
}

TEST(ParseNotFoundInstanceIdsTest, SingleAndPluralMessages) {
  EXPECT_EQ(ParseNotFoundInstanceIds("The instance ID 'i-0123456789abcdef0' does not exist"),
            std::vector<std::string>{"i-0123456789abcdef0"});
  EXPECT_EQ(ParseNotFoundInstanceIds("The instance IDs 'i-1, i-2,i-3' do not exist"),
            (std::vector<std::string>{"i-1", "i-2", "i-3"}));
  EXPECT_EQ(ParseNotFoundInstanceIds("Invalid id: \"i-xyz\""), std::vector<std::string>{"i-xyz"});
  EXPECT_TRUE(ParseNotFoundInstanceIds("Something else entirely").empty());
  EXPECT_TRUE(ParseNotFoundInstanceIds("unbalanced 'i-1").empty());
}

}  // namespace
}  // namespace ohfp::aws
