#!/usr/bin/env bash
# Time-boxed Jazzer fuzzing of the two parsers that read attacker-controlled bytes (issue 6).
#
#   merge-engine/fuzz.sh                 # every target, FUZZ_SECONDS (default 60) each: ~4.5 min on 2 cores
#   FUZZ_SECONDS=300 merge-engine/fuzz.sh
#   merge-engine/fuzz.sh parse           # one target by method name: file, header or parse
#
# Targets (one JVM each; Jazzer fuzzes one @FuzzTest per run):
#   file    safetensors SafetensorsHeaderFuzzTest#file    whole files through SafetensorsHeader.read
#   header  safetensors SafetensorsHeaderFuzzTest#header  parseHeaderLength / parse(json, fileSize), any sizes
#   parse   core        AdapterConfigFuzzTest#parse       AdapterConfigParser.parse, targets/rankFor, Validator
#
# A plain `./mvnw verify` only replays the committed inputs (regression mode). Here JAZZER_FUZZ=1 lets
# libFuzzer mutate them, with coverage from our classes and Jackson. A finding fails the run; Jazzer
# writes it as crash-<sha1> into src/test/resources/<package>/<TestClass>Inputs/<method>/ of the module:
# fix the bug and commit that file, and every later test run replays it. Inputs that reached new
# coverage accumulate in <module>/.cifuzz-corpus/ (ignored by git), so repeated local runs go deeper.
# Exit status: 0 no finding, non-zero a finding or a build failure.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
export JAZZER_FUZZ=1
export JAZZER_MAX_DURATION="${FUZZ_SECONDS}s"
# Coverage feedback from our code and from Jackson (the JSON tokenizer is where header bytes go first).
export JAZZER_INSTRUMENT='dev.mergeline.**,com.fasterxml.jackson.**'

declare -A MODULE=([file]=merge-engine/safetensors [header]=merge-engine/safetensors [parse]=merge-engine/core)
declare -A CLASS=([file]=SafetensorsHeaderFuzzTest [header]=SafetensorsHeaderFuzzTest [parse]=AdapterConfigFuzzTest)

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(file header parse)
for t in "${targets[@]}"; do
  [ -n "${MODULE[$t]:-}" ] || { echo "fuzz.sh: unknown target '$t' (file, header, parse)" >&2; exit 2; }
  log="${MODULE[$t]}/target/fuzz-$t.log"
  mkdir -p "$(dirname "$log")"
  echo "== fuzzing ${CLASS[$t]}#$t for ${FUZZ_SECONDS}s (full log: $log)"
  if ! ./mvnw -B -pl "${MODULE[$t]}" -am test -Dtest="${CLASS[$t]}#$t" -Dsurefire.failIfNoSpecifiedTests=false \
      > "$log" 2>&1; then
    grep -v '^INFO: \(Instrumented\|Loaded\)' "$log" | tail -n 120
    echo "fuzz.sh: ${CLASS[$t]}#$t FAILED: a finding (crash-* file under ${MODULE[$t]}/src/test/resources) or a build error" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)|Tests run:.*Fuzz' "$log" || true
done
echo "fuzz.sh: no findings in ${targets[*]} (${FUZZ_SECONDS}s each)"
