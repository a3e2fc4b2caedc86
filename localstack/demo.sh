#!/usr/bin/env bash
# localstack/demo.sh — the README's first command: starts the embedded stack if needed, registers the
# bundled tiny base model, uploads the bundled adapter through the S3 API, waits for
# merged-model-ready (printing the job's merge-progress events as they arrive), prints it, verifies
# the merged files' hashes and exits 0. Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/localstack/embedded.sh" up
fixture="$root/merge-engine/fixtures/cases/llama-bf16-plain"
exec java -cp "$root/merge-engine/embedded/target/mergeline-embedded.jar:$root/merge-engine/embedded/target/lib/*" \
  dev.mergeline.embedded.DemoClient "http://127.0.0.1:${MERGELINE_S3_PORT:-4566}" "127.0.0.1:${MERGELINE_KAFKA_PORT:-9092}" \
  "$fixture/base" tiny-llama "$fixture/adapter" demo "${MERGELINE_DEMO_TIMEOUT:-300}"
