#include "aws/ssm_client.h"

namespace ohfp::aws {

namespace {

bool HasAwsCode(const nlohmann::json& details, const char* code) {
  return details.is_object() && details.contains("aws_code") && details["aws_code"] == code;
}

}  // namespace

Result<std::string> ParseGetParameterResponse(const nlohmann::json& answer) {
  if (answer.is_object() && answer.contains("Parameter") && answer["Parameter"].is_object()) {
    const nlohmann::json& parameter = answer["Parameter"];
    if (parameter.contains("Value") && parameter["Value"].is_string()) {
      return parameter["Value"].get<std::string>();
    }
  }
  return Status::Provider("SSM GetParameter answer has no Parameter.Value");
}

Result<std::string> SsmClient::GetParameter(const std::string& name) {
  Result<nlohmann::json> answer =
      client_->CallJson("ssm", "AmazonSSM.GetParameter", {{"Name", name}}, "1.1");
  if (answer.ok()) return ParseGetParameterResponse(*answer);

  const Status& error = answer.status();
  const nlohmann::json& details = error.details();
  if (HasAwsCode(details, "ParameterNotFound")) {
    // A missing parameter is a template mistake, not a cloud failure: retrying
    // will not help, the template must change.
    nlohmann::json d = details;
    d["parameter"] = name;
    return Status::Error(ErrorCode::kConfigurationError,
                         "SSM parameter '" + name + "' does not exist", std::move(d));
  }
  nlohmann::json d = details;
  if (d.is_object()) d["parameter"] = name;
  return Status::Error(error.code(), "SSM GetParameter '" + name + "' failed: " + error.message(),
                       std::move(d));
}

}  // namespace ohfp::aws
