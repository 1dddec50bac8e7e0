#include "aws/http_transport.h"

namespace ohfp::aws {

std::string HttpResponse::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

}  // namespace ohfp::aws
