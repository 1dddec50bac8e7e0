#!/usr/bin/env bash
# A full Host Factory cycle against a local AWS emulator, with no AWS account:
# start moto_server (signature checking on), lay out an IBM-style provider
# directory, then drive the real scripts as Host Factory would: list
# templates, request 3 hosts, poll until complete, return them, poll until
# complete. Every answer is printed; moto is stopped by its process id.
set -euo pipefail

build=${1:-build}
top=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
[ "${build#/}" = "$build" ] && build="$top/$build"
run="$top/demo-run"
rm -rf "$run"
mkdir -p "$run/conf" "$run/work" "$run/logs" "$run/moto"
chmod 700 "$run"

"$build/ohfp-devenv" start --dir "$run/moto"
trap '"$build/ohfp-devenv" stop --dir "$run/moto" || true' EXIT
# shellcheck disable=SC1091
. "$run/moto/env.sh"

# IBM-style provider directory: awsprov_config.json, a credentials file and
# awsprov_templates.json. The key travels in the file, not the environment.
umask 077
cat > "$run/conf/credentials" <<CREDS
[default]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
CREDS
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
cat > "$run/conf/awsprov_config.json" <<CONF
{
  "AWS_REGION": "$AWS_REGION",
  "AWS_ENDPOINT_URL": "$AWS_ENDPOINT_URL",
  "AWS_CREDENTIAL_FILE": "$run/conf/credentials",
  "AWS_CONNECTION_TIMEOUT_MS": 5000,
  "AWS_INSTANCE_PENDING_TIMEOUT_SEC": 300,
  "ACCEPT_PROPAGATED_LOG_SETTING": "false"
}
CONF
cat > "$run/conf/awsprov_templates.json" <<TEMPLATES
{
  "templates": [
    {
      "templateId": "od-t3-medium",
      "maxNumber": 10,
      "priceType": "ondemand",
      "attributes": { "type": "X86_64", "ncpus": 1, "nram": 4096 },
      "imageId": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
      "vmType": "t3.medium",
      "subnetId": "$OHFP_SUBNET_ID",
      "securityGroupIds": ["$OHFP_SECURITY_GROUP_ID"],
      "rootDeviceVolumeSize": 20,
      "instanceTags": "cluster=demo;owner=symphony"
    },
    {
      "templateId": "spot-c5-large",
      "maxNumber": 20,
      "priceType": "spot",
      "providerApi": "RunInstances",
      "attributes": { "type": ["String", "X86_64"], "ncpus": ["Numeric", "1"],
                      "nram": ["Numeric", "4096"] },
      "imageId": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
      "vmType": "c5.large",
      "subnetId": "$OHFP_SUBNET_ID"
    }
  ]
}
TEMPLATES
unset AWS_ENDPOINT_URL AWS_REGION

export HF_PROVIDER_NAME=awsinst
export HF_PROVIDER_CONFDIR="$run/conf"
export HF_PROVIDER_WORKDIR="$run/work"
export HF_PROVIDER_LOGDIR="$run/logs"
export OHFP_BIN="$build/ohfp"
scripts="$top/scripts"

field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

call() {  # call SCRIPT INPUT_JSON: writes the input to a file as Host Factory does
  local input out
  input=$(mktemp "$run/hf_in_XXXXXX")
  printf '%s' "$2" > "$input"
  echo "\$ $1.sh -f $(basename "$input")    # $2" >&2
  out=$("$scripts/$1.sh" -f "$input")
  rm -f "$input"
  printf '%s\n' "$out" >&2
  printf '%s' "$out"
}

poll() {  # poll REQUEST_ID until its status is not running
  local id=$1 answer status
  for _ in $(seq 1 30); do
    answer=$(call getRequestStatus "{\"requests\": [{\"requestId\": \"$id\"}]}")
    status=$(printf '%s' "$answer" | field 'd["requests"][0]["status"]')
    [ "$status" != running ] && { printf '%s' "$answer"; return 0; }
    sleep 1
  done
  echo "request $id still running after 30 polls" >&2
  return 1
}

echo "== 1. templates" >&2
call getAvailableTemplates '{}' > /dev/null

echo "== 2. request 3 hosts" >&2
req=$(call requestMachines '{"template": {"templateId": "od-t3-medium", "machineCount": 3}}' |
      field 'd["requestId"]')

echo "== 3. poll until complete" >&2
status=$(poll "$req")
printf '%s' "$status" | field 'd["requests"][0]["status"]' | grep -qx complete
machines=$(printf '%s' "$status" |
  field 'json.dumps({"machines": [{"name": m["name"], "machineId": m["machineId"]} for m in d["requests"][0]["machines"]]})')

echo "== 4. return them" >&2
ret=$(call requestReturnMachines "$machines" | field 'd["requestId"]')

echo "== 5. poll the return until complete" >&2
poll "$ret" | field 'd["requests"][0]["status"]' | grep -qx complete

echo "== 6. hosts the cloud has taken back" >&2
call getReturnRequests "$machines" > /dev/null

echo "== demo complete: $req acquired 3 hosts, $ret returned them (logs: $run/logs)" >&2
