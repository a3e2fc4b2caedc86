#!/bin/bash
# LocalStack ready hook 2/5: deploy functions/target/function.zip as the two Lambdas
# mergeline-s3-trigger (QUARKUS_FUNQY_EXPORT=s3Trigger) and mergeline-kafka-trigger (kafkaTrigger),
# then invoke each once with an empty event so that the first real upload does not wait for a cold
# start and a function that cannot start fails here, not later.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=mergeline.conf
source "$(dirname "${BASH_SOURCE[0]}")/mergeline.conf"

if [[ ! -s "$function_zip" ]]; then
  echo "[mergeline-init] $function_zip is missing: run ./mvnw -B package -DskipTests first" >&2
  exit 1
fi

# LocalStack does not enforce IAM by default, but create-function needs an existing role.
if ! awslocal iam get-role --role-name "$lambda_role" >/dev/null 2>&1; then
  awslocal iam create-role --role-name "$lambda_role" \
    --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}' \
    >/dev/null
  log "created role $lambda_role"
fi
role_arn="$(awslocal iam get-role --role-name "$lambda_role" --query Role.Arn --output text)"

awslocal s3 cp --only-show-errors "$function_zip" "s3://$code_bucket/$code_key"
log "uploaded $function_zip to s3://$code_bucket/$code_key"

deploy() { # <function name> <funqy export>
  local name="$1" export_name="$2" env
  env="$(lambda_environment "$export_name")"
  if awslocal lambda get-function --function-name "$name" >/dev/null 2>&1; then
    awslocal lambda update-function-code --function-name "$name" \
      --s3-bucket "$code_bucket" --s3-key "$code_key" >/dev/null
    awslocal lambda wait function-updated-v2 --function-name "$name"
    awslocal lambda update-function-configuration --function-name "$name" \
      --runtime "$lambda_runtime" --handler "$lambda_handler" --role "$role_arn" \
      --timeout "$lambda_timeout" --memory-size "$lambda_memory" --environment "$env" >/dev/null
    log "updated Lambda $name ($export_name)"
  else
    awslocal lambda create-function --function-name "$name" \
      --runtime "$lambda_runtime" --handler "$lambda_handler" --role "$role_arn" \
      --code "S3Bucket=$code_bucket,S3Key=$code_key" \
      --timeout "$lambda_timeout" --memory-size "$lambda_memory" --environment "$env" >/dev/null
    log "created Lambda $name ($export_name)"
  fi
  awslocal lambda wait function-active-v2 --function-name "$name"
  awslocal lambda wait function-updated-v2 --function-name "$name"
}

warm_up() { # <function name> <event json>
  local name="$1" event="$2" payload out
  payload="$(mktemp)"
  out="$(mktemp)"
  printf '%s' "$event" >"$payload"
  local started=$SECONDS
  if ! awslocal lambda invoke --function-name "$name" --cli-read-timeout 0 \
    --payload "fileb://$payload" "$out" --query FunctionError --output text >"$out.err" 2>&1 \
    || ! grep -qx None "$out.err"; then
    echo "[mergeline-init] warm-up invocation of $name failed: $(cat "$out.err") $(cat "$out")" >&2
    echo "[mergeline-init] see: awslocal logs filter-log-events --log-group-name /aws/lambda/$name" >&2
    rm -f "$payload" "$out" "$out.err"
    exit 1
  fi
  log "warmed up Lambda $name in $((SECONDS - started)) s: $(cat "$out")"
  rm -f "$payload" "$out" "$out.err"
}

deploy "$s3_function" "$s3_function_export"
deploy "$kafka_function" "$kafka_function_export"

# Empty events: no records, so nothing is read and nothing is published.
warm_up "$s3_function" '{"Records":[]}'
warm_up "$kafka_function" '{"eventSource":"aws:kafka","records":{}}'
