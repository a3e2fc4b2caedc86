#!/bin/bash
# LocalStack ready hook 3/5: S3 ObjectCreated notifications for adapters/ -> mergeline-s3-trigger.
# (S3 -> Lambda notifications are part of every LocalStack plan.)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=mergeline.conf
source "$(dirname "${BASH_SOURCE[0]}")/mergeline.conf"

function_arn="$(awslocal lambda get-function --function-name "$s3_function" \
  --query Configuration.FunctionArn --output text)"

# S3 may invoke the function (replaced on every run, so the script can run again).
awslocal lambda remove-permission --function-name "$s3_function" \
  --statement-id s3-invoke-mergeline >/dev/null 2>&1 || true
awslocal lambda add-permission --function-name "$s3_function" \
  --statement-id s3-invoke-mergeline --action lambda:InvokeFunction \
  --principal s3.amazonaws.com --source-arn "arn:aws:s3:::$bucket" >/dev/null

notification="$(cat <<JSON
{
  "LambdaFunctionConfigurations": [
    {
      "Id": "$notification_id",
      "LambdaFunctionArn": "$function_arn",
      "Events": ["s3:ObjectCreated:*"],
      "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "$notification_prefix"}]}}
    }
  ]
}
JSON
)"
awslocal s3api put-bucket-notification-configuration --bucket "$bucket" \
  --notification-configuration "$notification"
log "s3://$bucket/$notification_prefix* ObjectCreated -> $s3_function"
