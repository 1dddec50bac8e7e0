#include "aws/curl_transport.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "aws/runtime_libraries.h"

namespace ohfp::aws {
namespace {

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<Headers*>(user);
  std::string line(data, size * count);
  // A new status line starts a new header block (after a 100 Continue or a
  // proxy's CONNECT answer); only the last block is the real answer.
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos) return size * count;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  headers->emplace_back(Trim(name), Trim(line.substr(colon + 1)));
  return size * count;
}

const char* TransportKind(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return "connect";
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    default:
      return "io";
  }
}

// Frees the header list however Send returns.
struct HeaderList {
  explicit HeaderList(const CurlLibrary* curl) : lib(curl) {}
  ~HeaderList() { lib->slist_free_all(list); }
  void Add(const std::string& line) { list = lib->slist_append(list, line.c_str()); }
  const CurlLibrary* lib;
  curl_slist* list = nullptr;
};

bool HasHeader(const Headers& headers, const char* lower_name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
    std::string n = h.first;
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return n == lower_name;
  });
}

}  // namespace

CurlTransport::CurlTransport(ProxySettings proxy) : proxy_(std::move(proxy)) {}

CurlTransport::~CurlTransport() {
  // A handle exists only once libcurl was loaded.
  if (curl_ != nullptr) LoadCurl(nullptr)->easy_cleanup(static_cast<CURL*>(curl_));
}

Result<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string load_error;
  const CurlLibrary* lib = LoadCurl(&load_error);
  if (lib != nullptr && curl_ == nullptr) curl_ = lib->easy_init();
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) {
    std::string why = lib == nullptr ? load_error : "curl_easy_init failed";
    return Status::Error(ErrorCode::kProviderError, "libcurl could not be initialized: " + why,
                         {{"transport", "connect"}});
  }
  // Reset clears per-request options but keeps the connection cache.
  lib->easy_reset(curl);

  HttpResponse response;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  lib->easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  lib->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  lib->easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  lib->easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  lib->easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  lib->easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, request.timeout_ms)));
  lib->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, request.connect_timeout_ms)));
  lib->easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  lib->easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  lib->easy_setopt(curl, CURLOPT_HEADERFUNCTION, WriteHeader);
  lib->easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  if (proxy_.host.empty()) {
    lib->easy_setopt(curl, CURLOPT_PROXY, "");
  } else {
    lib->easy_setopt(curl, CURLOPT_PROXY, proxy_.host.c_str());
    lib->easy_setopt(curl, CURLOPT_PROXYPORT, static_cast<long>(proxy_.port));
  }

  if (request.method == "GET") {
    lib->easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    lib->easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    lib->easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    lib->easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") {
      lib->easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }

  HeaderList headers(lib);
  for (const auto& [name, value] : request.headers) {
    // "Name;" is curl's spelling of a header with an empty value.
    headers.Add(value.empty() ? name + ";" : name + ": " + value);
  }
  // The signature covers exactly the headers given; keep curl from adding a
  // form Content-Type of its own or waiting for 100-continue.
  if (!HasHeader(request.headers, "content-type")) headers.Add("Content-Type:");
  if (!HasHeader(request.headers, "expect")) headers.Add("Expect:");
  lib->easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);

  CURLcode code = lib->easy_perform(curl);
  // Nothing below may keep pointers into this call's stack.
  lib->easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  lib->easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (code != CURLE_OK) {
    std::string detail = error_buffer[0] != '\0' ? error_buffer : lib->easy_strerror(code);
    return Status::Error(
        ErrorCode::kProviderError, "HTTP request failed: " + detail,
        {{"transport", TransportKind(code)}, {"curl_code", static_cast<int>(code)}});
  }
  long status = 0;
  lib->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace ohfp::aws
