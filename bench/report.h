// The benchmark's one table: a row per measured case with its floor next to
// it, then the targets checked against those rows. Printed for people and
// written as JSON for comparing runs across commits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ohfp::bench {

/// Repeated measurements of one quantity.
class Samples {
 public:
  void Add(double value) { values_.push_back(value); }
  bool empty() const { return values_.empty(); }
  size_t size() const { return values_.size(); }
  /// The q-quantile (0 ≤ q ≤ 1), nearest rank; 0 when empty.
  double Quantile(double q) const;
  double Median() const { return Quantile(0.5); }
  double P99() const { return Quantile(0.99); }
  double Max() const { return Quantile(1.0); }

 private:
  std::vector<double> values_;
};

struct Row {
  std::string section;  // "verb", "cli", "scale", "store", "floor"
  std::string name;     // "requestMachines.sh", "getRequestStatus 100x10 sqlite", …
  Samples wall_ms;
  Samples cpu_ms;
  int64_t max_rss_kib = 0;  // the largest of every run
  Samples floor_ms;         // the physical floor of the same work, if any
  std::string floor_name;   // what the floor is made of
  Samples aws_calls;        // from the --stats line, if any
  Samples own_ms;           // wall minus time waiting on AWS HTTP answers, if known
  nlohmann::json extra = nlohmann::json::object();  // section-specific facts

  /// Median wall over median floor; 0 without a floor.
  double FloorRatio() const;
};

/// A row with nothing measured yet.
Row MakeRow(std::string section, std::string name, std::string floor_name = "");

struct Target {
  std::string name;  // "getRequestStatus.sh wall / floor"
  double value = 0;
  double limit = 0;
  std::string unit;  // "x", "ms", "MiB", …
  bool met = false;
};

class Report {
 public:
  Row& AddRow(Row row);
  /// Records a target met when value <= limit.
  void AddTarget(const std::string& name, double value, double limit, const std::string& unit);
  void AddNote(const std::string& note) { notes_.push_back(note); }
  void set_meta(nlohmann::json meta) { meta_ = std::move(meta); }

  const std::vector<Row>& rows() const { return rows_; }
  const std::vector<Target>& targets() const { return targets_; }
  /// The row named `name`, or nullptr.
  const Row* Find(const std::string& name) const;

  /// The table, the targets and the notes, as aligned text.
  std::string Text() const;
  nlohmann::json Json() const;

 private:
  std::vector<Row> rows_;
  std::vector<Target> targets_;
  std::vector<std::string> notes_;
  nlohmann::json meta_ = nlohmann::json::object();
};

}  // namespace ohfp::bench
