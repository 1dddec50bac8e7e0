#include "support/fake_transport.h"

#include <strings.h>

namespace ohfp::testsupport {

aws::HttpResponse MakeResponse(int status, std::string body, aws::Headers headers) {
  aws::HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

Status TransportError(const std::string& kind) {
  return Status::Error(ErrorCode::kProviderError, "fake transport failure: " + kind,
                       {{"transport", kind}});
}

Result<aws::HttpResponse> FakeTransport::Send(const aws::HttpRequest& request) {
  requests_.push_back(request);
  if (on_send) on_send(request);
  if (!queue_.empty()) {
    Result<aws::HttpResponse> answer = std::move(queue_.front());
    queue_.pop_front();
    return answer;
  }
  if (handler_) return handler_(request);
  return TransportError("io");
}

std::string RequestHeader(const aws::HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (strcasecmp(key.c_str(), name.c_str()) == 0) return value;
  }
  return "";
}

}  // namespace ohfp::testsupport
