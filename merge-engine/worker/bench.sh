#!/usr/bin/env bash
# merge-engine/worker/bench.sh — the worker's S3 phases (S3 in, merge, S3 out) end to end against the
# embedded S3 server (S3Mock) and a Kafka broker, for several transfer settings side by side:
#   old  = mergeline.worker.s3-concurrency=1, s3-part-size=64M (one GET per object, 64 MiB parts one
#          after another: the worker's transfers before they became concurrent)
#   new  = the defaults, 8 concurrent requests of 16 MiB
# Each run starts the packaged worker, sends one merge.requested, reads the phase times from the
# merged-model.ready event (timingsMs) and stops the worker; prints every run and the medians.
#
#   merge-engine/worker/bench.sh [--size-gib 1] [--runs 3] [--work DIR] [--no-build]
#                                [--setting name=concurrency:partSize]...
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
size=1 runs=3 work="${TMPDIR:-/tmp}/mergeline-worker-bench" build=1 settings=()
while (($#)); do
  case "$1" in
    --size-gib) size=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --setting) settings+=(--setting "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
  esac
done

cd "$root"
if ((build)); then
  # The worker's quarkus-app, the bench module (generator and S3PhasesBenchmark) and its full classpath.
  ./mvnw -B -o -q -pl merge-engine/worker,merge-engine/bench -am package -DskipTests \
    dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt
fi
data="$work/data-${size}gib"
if [[ ! -f "$data/adapter/adapter_model.safetensors" ]]; then
  rm -rf "$data"
  java -jar merge-engine/bench/target/mergeline-bench.jar --out "$data" --size-gib "$size"
fi
rm -rf "$work/run"
cp="merge-engine/bench/target/classes:$(cat merge-engine/bench/target/bench-classpath.txt)"
# S3Mock with the full JIT and 1 GiB of heap (the test default, C1 only and 512 MiB, starts fast but
# would make the server, not the worker, the bottleneck).
java -Xmx512m -Dmergeline-devstack.s3mock.jvm-opts="${MERGELINE_BENCH_S3MOCK_JVM_OPTS:--Xms256m -Xmx1g -XX:+UseSerialGC}" \
  -cp "$cp" dev.mergeline.bench.S3PhasesBenchmark --data "$data" --work "$work/run" --runs "$runs" \
  --worker-jar merge-engine/worker/target/quarkus-app/quarkus-run.jar "${settings[@]}"
