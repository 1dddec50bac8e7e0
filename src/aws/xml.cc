#include "aws/xml.h"

#include <nlohmann/json.hpp>

namespace ohfp::aws {
namespace {

std::string StripErrorType(std::string type) {
  size_t hash = type.rfind('#');
  if (hash != std::string::npos) type = type.substr(hash + 1);
  size_t colon = type.find(':');
  if (colon != std::string::npos) type.resize(colon);
  return type;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view name = node.name();
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

namespace {
// An element's text is kept in the element itself rather than in a child
// node of its own: every value AWS sends is an element with only text in
// it, so the tree has about half the nodes (a DescribeInstances page of
// 1,000 instances took ~12 MB as a tree, three times its text).
constexpr unsigned kParseOptions = pugi::parse_default | pugi::parse_embed_pcdata;

Status ParseOutcome(const pugi::xml_parse_result& parsed) {
  if (!parsed) {
    return Status::Error(ErrorCode::kProviderError,
                         std::string("malformed XML from AWS: ") + parsed.description());
  }
  return Status();
}
}  // namespace

Status ParseXml(const std::string& text, pugi::xml_document* doc) {
  return ParseOutcome(doc->load_buffer(text.data(), text.size(), kParseOptions));
}

Status ParseXmlInPlace(std::string* text, pugi::xml_document* doc) {
  return ParseOutcome(doc->load_buffer_inplace(text->data(), text->size(), kParseOptions));
}

pugi::xml_node FindFirst(const pugi::xml_node& node, std::string_view local_name) {
  if (node.type() == pugi::node_element && LocalName(node) == local_name) return node;
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    pugi::xml_node found = FindFirst(child, local_name);
    if (found) return found;
  }
  return pugi::xml_node();
}

pugi::xml_node Child(const pugi::xml_node& node, std::string_view local_name) {
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_element && LocalName(child) == local_name) return child;
  }
  return pugi::xml_node();
}

pugi::xml_node ChildPath(const pugi::xml_node& node, std::string_view path) {
  pugi::xml_node current = node;
  size_t start = 0;
  while (current && start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view step = path.substr(start, end - start);
    if (!step.empty()) current = Child(current, step);
    start = end + 1;
  }
  return current;
}

std::string ChildText(const pugi::xml_node& node, std::string_view path) {
  pugi::xml_node found = ChildPath(node, path);
  return found ? found.text().get() : "";
}

std::vector<pugi::xml_node> Children(const pugi::xml_node& node, std::string_view local_name) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_element && LocalName(child) == local_name) {
      out.push_back(child);
    }
  }
  return out;
}

std::vector<pugi::xml_node> ListItems(const pugi::xml_node& node, std::string_view path) {
  pugi::xml_node list = ChildPath(node, path);
  std::vector<pugi::xml_node> items = Children(list, "item");
  if (items.empty()) items = Children(list, "member");
  return items;
}

bool ParseXmlError(const std::string& body, AwsError* error) {
  pugi::xml_document doc;
  if (!ParseXml(body, &doc).ok()) return false;
  // The first Error element that carries a Code: EC2 nests it in
  // Response/Errors, the Query protocol in ErrorResponse, moto's auth
  // failures in ErrorResponse/Errors. A bare Code is the last resort.
  pugi::xml_node holder = doc.find_node([](const pugi::xml_node& n) {
    return n.type() == pugi::node_element && LocalName(n) == "Error" && Child(n, "Code");
  });
  if (!holder) {
    pugi::xml_node code = FindFirst(doc, "Code");
    if (!code) return false;
    holder = code.parent();
  }
  error->code = Trim(ChildText(holder, "Code"));
  error->message = Trim(ChildText(holder, "Message"));
  for (const char* name : {"RequestId", "RequestID", "requestId"}) {
    pugi::xml_node id = FindFirst(doc, name);
    if (id) {
      error->request_id = Trim(id.text().get());
      break;
    }
  }
  return !error->code.empty();
}

bool ParseJsonError(const std::string& body, AwsError* error) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return false;
  auto text = [&doc](const char* key) -> std::string {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
  };
  std::string type = text("__type");
  if (type.empty()) type = text("code");
  if (type.empty()) type = text("Code");
  if (type.empty()) return false;
  error->code = StripErrorType(type);
  error->message = text("message");
  if (error->message.empty()) error->message = text("Message");
  return !error->code.empty();
}

AwsError DecodeError(const HttpResponse& response) {
  AwsError error;
  const std::string& body = response.body;
  size_t first = body.find_first_not_of(" \t\r\n");
  bool decoded = false;
  if (first != std::string::npos && body[first] == '<') {
    decoded = ParseXmlError(body, &error);
  } else if (first != std::string::npos && body[first] == '{') {
    decoded = ParseJsonError(body, &error);
  }
  if (!decoded) {
    // A header that strips to nothing ("::") names no error; fall back to
    // the status so that the code is never empty.
    std::string header_type = StripErrorType(response.Header("x-amzn-errortype"));
    if (!header_type.empty()) {
      error.code = header_type;
    } else if (response.status >= 500) {
      error.code = "InternalError";
      error.message = "HTTP " + std::to_string(response.status) + " without an AWS error body";
    } else {
      error.code = "HttpError" + std::to_string(response.status);
      error.message = "HTTP " + std::to_string(response.status) + " without an AWS error body";
    }
  }
  if (error.request_id.empty()) error.request_id = response.Header("x-amzn-requestid");
  if (error.request_id.empty()) error.request_id = response.Header("x-amz-request-id");
  return error;
}

}  // namespace ohfp::aws
