// A stand-in for EC2 on loopback, for the scale rows moto cannot serve.
// BENCH ONLY: it is a measuring fixture, not an emulator, and nothing in
// the product uses it.
//
// Moto renders ~7 ms per instance it describes and scans every tag in the
// region for each one, so a poll of 10,000 machines would measure moto.
// This server answers at once, from instances it was told exist, so the
// same poll measures ohfp's own cost and how it spreads its calls:
//
// - plain HTTP/1.1 on 127.0.0.1 only, a thread per connection, keep-alive,
//   bodies framed by Content-Length;
// - no signature check: any Authorization header (or none) is accepted;
// - one action, DescribeInstances of InstanceId.N (form-encoded POST), every
//   instance `running`; an id it does not know gets EC2's
//   InvalidInstanceID.NotFound, and any other action or parameter an
//   EC2-style error (HTTP 400, Response/Errors/Error/Code).
//
// Each instance item has EC2's shape and about its size (~4 KB with block
// device, network interface, placement and tags; moto's are ~3 KB), so
// reading the answer costs ohfp what it would against EC2.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "aws/aws_client.h"
#include "aws/ec2_client.h"
#include "core/status.h"
#include "devenv/moto.h"

namespace ohfp::bench {

class StandInEc2 {
 public:
  /// Listens on 127.0.0.1 at a port the kernel picks, and starts serving.
  static Result<std::unique_ptr<StandInEc2>> Start();

  /// Stops accepting, lets every connection notice (within ~100 ms) and
  /// joins every thread.
  ~StandInEc2();
  StandInEc2(const StandInEc2&) = delete;
  StandInEc2& operator=(const StandInEc2&) = delete;

  /// "http://127.0.0.1:<port>".
  std::string endpoint() const;
  /// The region its answers speak of ("us-east-1").
  std::string region() const;
  /// Keys to sign with; nothing checks them.
  aws::Credentials credentials() const;
  /// The VPC, subnet and security group to name in templates and launches.
  devenv::Network network() const;

  /// Makes input.max_count instances of `input` (image, type, subnet,
  /// security groups, tags), running at once, in one new reservation;
  /// returns their ids. Safe while the server answers.
  std::vector<std::string> Launch(const aws::RunInstancesInput& input);

  struct Counts {
    int64_t calls = 0;          // requests answered, errors included
    int64_t max_in_flight = 0;  // the most requests being answered at once
  };
  /// The counts since the start or the last ResetCounts().
  Counts counts() const;
  void ResetCounts();

 private:
  struct Instance {
    uint64_t serial = 0;  // derives the addresses and the ids of its parts
    std::string reservation_id;
    int64_t launch_time = 0;
    const aws::RunInstancesInput* launch = nullptr;  // owned by launches_
  };
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  explicit StandInEc2(int listen_fd, int port);
  void AcceptLoop();
  void Serve(int fd);
  // The answer to one request body: returns the HTTP status, sets the XML.
  int Answer(const std::string& body, std::string* xml);
  int DescribeInstances(const std::vector<std::string>& ids, const std::string& request_id,
                        std::string* xml) const;
  void AppendInstance(const std::string& id, const Instance& instance, std::string* xml) const;

  const int listen_fd_;
  const int port_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  // Touched only by the acceptor thread, then by the destructor after it.
  std::vector<std::unique_ptr<Connection>> connections_;

  // Shared by the answering threads; Launch takes it exclusively.
  mutable std::shared_mutex instances_mu_;
  std::unordered_map<std::string, Instance> instances_;
  std::vector<std::unique_ptr<aws::RunInstancesInput>> launches_;
  uint64_t next_serial_ = 1;

  mutable std::mutex counts_mu_;
  Counts counts_;
  int64_t in_flight_ = 0;
  std::atomic<uint64_t> next_request_id_{1};
};

}  // namespace ohfp::bench
