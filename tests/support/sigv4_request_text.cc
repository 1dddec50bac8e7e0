#include "support/sigv4_request_text.h"

#include <vector>

namespace ohfp::testsupport {

aws::SigningInput ParseRequestText(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }

  aws::SigningInput input;
  const std::string& request_line = lines[0];
  size_t first_space = request_line.find(' ');
  size_t last_space = request_line.rfind(' ');
  input.method = request_line.substr(0, first_space);
  std::string target;
  if (first_space != std::string::npos) {
    target = request_line.substr(first_space + 1, last_space - first_space - 1);
  }
  size_t question = target.find('?');
  input.path = target.substr(0, question);
  if (question != std::string::npos) input.query = target.substr(question + 1);

  size_t i = 1;
  for (; i < lines.size() && !lines[i].empty(); ++i) {
    const std::string& line = lines[i];
    if ((line[0] == ' ' || line[0] == '\t') && !input.headers.empty()) {
      input.headers.back().second += " " + line;
      continue;
    }
    size_t colon = line.find(':');
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    input.headers.emplace_back(line.substr(0, colon), value);
  }
  for (size_t j = i + 1; j < lines.size(); ++j) {
    if (j > i + 1) input.body += "\n";
    input.body += lines[j];
  }
  return input;
}

}  // namespace ohfp::testsupport
