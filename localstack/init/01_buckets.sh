#!/bin/bash
# LocalStack ready hook 1/5: the data bucket (adapters/, base-models/, merged/) and the Lambda code bucket.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=mergeline.conf
source "$(dirname "${BASH_SOURCE[0]}")/mergeline.conf"

for b in "$bucket" "$code_bucket"; do
  if awslocal s3api head-bucket --bucket "$b" >/dev/null 2>&1; then
    log "bucket s3://$b exists"
  else
    awslocal s3api create-bucket --bucket "$b" >/dev/null
    log "created bucket s3://$b"
  fi
done
