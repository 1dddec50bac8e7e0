// Reading AWS answers: namespace-agnostic XML lookups on pugixml (moto and
// AWS disagree on namespaces, so only local names are compared) and the
// decoding of XML and JSON error bodies.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <pugixml.hpp>

#include "aws/http_transport.h"
#include "core/status.h"

namespace ohfp::aws {

/// The name of `node` without any "prefix:".
std::string_view LocalName(const pugi::xml_node& node);

/// Parses `text` into `*doc`; a kProviderError when it is not well-formed XML.
Status ParseXml(const std::string& text, pugi::xml_document* doc);
/// ParseXml without a copy: the document points into `*text`, which it
/// changes and which must outlive it.
Status ParseXmlInPlace(std::string* text, pugi::xml_document* doc);

/// The first element named `local_name` at or below `node`, depth-first in
/// document order; an empty node if there is none.
pugi::xml_node FindFirst(const pugi::xml_node& node, std::string_view local_name);

/// The first direct child element named `local_name`; empty node if none.
pugi::xml_node Child(const pugi::xml_node& node, std::string_view local_name);

/// The element reached from `node` by a '/'-separated path of local names
/// ("instanceState/name"); empty node if any step is missing.
pugi::xml_node ChildPath(const pugi::xml_node& node, std::string_view path);

/// The text of ChildPath(node, path), "" if missing.
std::string ChildText(const pugi::xml_node& node, std::string_view path);

/// The direct children of `node` named `local_name`, in order (e.g. the
/// "item" or "member" elements of a list).
std::vector<pugi::xml_node> Children(const pugi::xml_node& node, std::string_view local_name);

/// The items of a list at `path` below `node`: the children of the list
/// element named "item" (EC2) or "member" (Query protocol).
std::vector<pugi::xml_node> ListItems(const pugi::xml_node& node, std::string_view path);

/// An error decoded from an AWS answer.
struct AwsError {
  std::string code;
  std::string message;
  std::string request_id;
};

/// Decodes an XML error body (the first Error/Code anywhere, its Message,
/// and RequestId/RequestID/requestId); false if none is found.
bool ParseXmlError(const std::string& body, AwsError* error);

/// Decodes a JSON error body: "__type" (or "code") without any "prefix#" or
/// ":suffix", and "message" or "Message"; false if none is found.
bool ParseJsonError(const std::string& body, AwsError* error);

/// Decodes an HTTP error answer of any protocol: XML, JSON, or the
/// x-amzn-errortype header; a non-AWS body (an HTML 5xx page) gives
/// "InternalError" for 5xx and "HttpError<status>" otherwise. The request id
/// also comes from x-amzn-requestid / x-amz-request-id headers.
AwsError DecodeError(const HttpResponse& response);

}  // namespace ohfp::aws
