#!/bin/bash
# LocalStack ready hook 5/5: check what the earlier hooks set up (LocalStack runs every hook even when
# an earlier one failed) and print the readiness marker MERGELINE_READY that users and the compose
# healthcheck wait for; on any gap print MERGELINE_INIT_FAILED and fail.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=mergeline.conf
source "$(dirname "${BASH_SOURCE[0]}")/mergeline.conf"

fail() {
  echo "MERGELINE_INIT_FAILED: $*" >&2
  echo "[mergeline-init] see the [mergeline-init] lines above (docker compose logs localstack)" >&2
  exit 1
}

awslocal s3api head-bucket --bucket "$bucket" >/dev/null 2>&1 || fail "bucket s3://$bucket missing"

for fn in "$s3_function" "$kafka_function"; do
  state="$(awslocal lambda get-function-configuration --function-name "$fn" \
    --query State --output text 2>/dev/null || echo missing)"
  [[ "$state" == Active ]] || fail "Lambda $fn is $state, not Active"
done

function_arn="$(awslocal lambda get-function --function-name "$s3_function" \
  --query Configuration.FunctionArn --output text)"
awslocal s3api get-bucket-notification-configuration --bucket "$bucket" --output json \
  | grep -q "\"$function_arn\"" || fail "no S3 notification from s3://$bucket to $s3_function"

if [[ "$kafka_ingress" == lambda ]]; then
  mappings="$(awslocal lambda list-event-source-mappings --function-name "$kafka_function" \
    --query 'EventSourceMappings[].State' --output text)"
  [[ -n "${mappings//None/}" ]] || fail "no Kafka event source mapping for $kafka_function"
fi

echo "MERGELINE_READY bucket=$bucket kafka-ingress=$kafka_ingress s3-trigger=$s3_function kafka-trigger=$kafka_function"
