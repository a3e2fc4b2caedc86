#!/usr/bin/env bash
# functions/cold-start.sh — cold start of the packaged validation function as Lambda's Java runtime runs
# it: function.zip unpacked as Lambda lays it out, AWS's runtime interface client as the poll loop, a
# local Runtime API handing out one S3 notification, Kafka and S3Mock as the function's services.
# Measures JVM start -> first poll (init) and first poll -> response (first event) per JVM option set.
#
#   functions/cold-start.sh [--runs 5] [--work DIR] [--no-build] [--variant name="jvm options"]...
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=5 work="${TMPDIR:-/tmp}/mergeline-cold-start" build=1 variants=()
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --variant) variants+=(--variant "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
  esac
done

cd "$root"
if ((build)); then
  ./mvnw -B -ntp -q -pl functions,merge-engine/bench -am package -DskipTests \
    dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt
fi
cp="merge-engine/bench/target/classes:$(cat merge-engine/bench/target/bench-classpath.txt)"
ric="$(tr ':' '\n' < merge-engine/bench/target/bench-classpath.txt | grep -E 'aws-lambda-java-(runtime-interface-client|core|serialization)-' | paste -sd: -)"
java -Xmx512m -Dslf4j.internal.verbosity=ERROR -Dlambda.ric="$ric" -cp "$cp" dev.mergeline.bench.LambdaColdStart \
  --zip functions/target/function.zip --fixture merge-engine/fixtures/cases/llama-bf16-plain \
  --work "$work" --runs "$runs" "${variants[@]}"
