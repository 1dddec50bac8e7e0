#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ohfp::bench {
namespace {

std::string Fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// Three significant figures or so, without exponent noise.
std::string Ms(double value) {
  if (value >= 100) return Fixed(value, 0);
  if (value >= 10) return Fixed(value, 1);
  return Fixed(value, 2);
}

std::string Cell(const Samples& s, std::string (*format)(double), double q) {
  return s.empty() ? "-" : format(s.Quantile(q));
}

std::string Count(double value) { return Fixed(value, 0); }

nlohmann::json SamplesJson(const Samples& s) {
  if (s.empty()) return nullptr;
  return {{"p50", s.Median()}, {"p99", s.P99()}, {"max", s.Max()}, {"n", s.size()}};
}

}  // namespace

double Samples::Quantile(double q) const {
  if (values_.empty()) return 0;
  std::vector<double> sorted = values_;
  std::sort(sorted.begin(), sorted.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

Row MakeRow(std::string section, std::string name, std::string floor_name) {
  Row row;
  row.section = std::move(section);
  row.name = std::move(name);
  row.floor_name = std::move(floor_name);
  return row;
}

double Row::FloorRatio() const {
  if (floor_ms.empty() || floor_ms.Median() <= 0) return 0;
  return wall_ms.Median() / floor_ms.Median();
}

Row& Report::AddRow(Row row) {
  rows_.push_back(std::move(row));
  return rows_.back();
}

void Report::AddTarget(const std::string& name, double value, double limit,
                       const std::string& unit) {
  targets_.push_back({name, value, limit, unit, value <= limit});
}

const Row* Report::Find(const std::string& name) const {
  for (const Row& r : rows_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::string Report::Text() const {
  std::vector<std::vector<std::string>> cells = {{"case", "n", "wall p50", "wall p99", "cpu p50",
                                                  "rss MiB", "floor p50", "x floor", "aws calls",
                                                  "own p50", "floor = "}};
  std::string section;
  std::vector<size_t> breaks;
  for (const Row& r : rows_) {
    if (r.section != section) {
      breaks.push_back(cells.size());
      section = r.section;
    }
    cells.push_back({r.name, std::to_string(r.wall_ms.size()), Cell(r.wall_ms, Ms, 0.5),
                     Cell(r.wall_ms, Ms, 0.99), Cell(r.cpu_ms, Ms, 0.5),
                     r.max_rss_kib > 0 ? Fixed(r.max_rss_kib / 1024.0, 1) : "-",
                     Cell(r.floor_ms, Ms, 0.5), r.floor_ms.empty() ? "-" : Fixed(r.FloorRatio(), 2),
                     Cell(r.aws_calls, Count, 0.5), Cell(r.own_ms, Ms, 0.5), r.floor_name});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::string text =
      "times in ms (wall, cpu = user+sys of the child, own = wall - AWS HTTP wait)\n";
  for (size_t row = 0; row < cells.size(); ++row) {
    if (std::find(breaks.begin(), breaks.end(), row) != breaks.end() || row == 1) {
      std::string rule;
      for (size_t i = 0; i + 1 < width.size(); ++i) rule += std::string(width[i], '-') + "  ";
      text += rule + "\n";
    }
    std::string line;
    for (size_t i = 0; i < cells[row].size(); ++i) {
      const std::string& c = cells[row][i];
      bool left = i == 0 || i + 1 == cells[row].size();
      std::string pad(width[i] - c.size(), ' ');
      line += left ? c + pad : pad + c;
      if (i + 1 < cells[row].size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line + "\n";
  }
  text += "\ntargets:\n";
  for (const Target& t : targets_) {
    text += std::string(t.met ? "  met     " : "  MISSED  ") + t.name + ": " + Ms(t.value) + " " +
            t.unit + " (limit " + Ms(t.limit) + " " + t.unit + ")\n";
  }
  if (!notes_.empty()) text += "\nnotes:\n";
  for (const std::string& n : notes_) text += "  " + n + "\n";
  return text;
}

nlohmann::json Report::Json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const Row& r : rows_) {
    rows.push_back({{"section", r.section},
                    {"case", r.name},
                    {"wall_ms", SamplesJson(r.wall_ms)},
                    {"cpu_ms", SamplesJson(r.cpu_ms)},
                    {"max_rss_kib", r.max_rss_kib},
                    {"floor_ms", SamplesJson(r.floor_ms)},
                    {"floor", r.floor_name},
                    {"floor_ratio",
                     r.floor_ms.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.FloorRatio())},
                    {"aws_calls", SamplesJson(r.aws_calls)},
                    {"own_ms", SamplesJson(r.own_ms)},
                    {"extra", r.extra}});
  }
  nlohmann::json targets = nlohmann::json::array();
  for (const Target& t : targets_) {
    targets.push_back({{"target", t.name},
                       {"value", t.value},
                       {"limit", t.limit},
                       {"unit", t.unit},
                       {"met", t.met}});
  }
  return {{"meta", meta_}, {"rows", rows}, {"targets", targets}, {"notes", notes_}};
}

}  // namespace ohfp::bench
