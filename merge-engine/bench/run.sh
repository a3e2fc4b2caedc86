#!/usr/bin/env bash
# Mergeline benchmark (see docs/performance.md):
#   merge-engine/bench/run.sh [--size-gib 2] [--runs 3] [--work DIR] [--conditions warm,cold]
#                             [--no-peft] [--venv DIR] [--idle-wait SECONDS] [--keep-inputs]
#
# Generates a synthetic Llama-shaped bf16 checkpoint (hidden 4096, intermediate 11008, vocab 32000,
# as many layers as give --size-gib, sharded at 1 GB) and a PEFT LoRA adapter (r=16 on q,k,v,o,
# gate,up,down, fp32), then measures, --runs times each, alternating, under each condition:
#   (a) cp -r of the base directory + sync        — a durable copy, the disk's own limit
#   (b) merge-engine/mergeline merge + sync       — this project
#   (c) PEFT merge_and_unload() + save_pretrained() + sync (pinned wheels; skipped with --no-peft)
# Conditions: warm = inputs read into the page cache before the run; cold = page cache dropped
# (echo 3 > /proc/sys/vm/drop_caches as root; otherwise each input file is evicted with
# posix_fadvise(DONTNEED) through dd iflag=nocache, and the report says so).
# Prints per condition: each run's wall time, median wall time and its ratio to (a), median CPU time
# (user + system of the process tree) and CPU seconds per GiB of base, peak RSS; then checks that
# (b)'s output equals (c)'s tensor by tensor. Before each run it waits (up to --idle-wait seconds,
# default 300) until the CPUs are >= 90 % idle; the load average before and after is reported.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"
size=2
runs=3
work="${TMPDIR:-/tmp}/mergeline-bench"
peft=1
conditions="warm,cold"
idle_wait=300
venv=""
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size-gib) size="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --conditions) conditions="$2"; shift 2 ;;
    --no-peft) peft=0; shift ;;
    --venv) venv="$2"; shift 2 ;;
    --idle-wait) idle_wait="$2"; shift 2 ;;
    --keep-inputs) keep=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
positive_int --runs "$runs"
IFS=, read -r -a conds <<< "$conditions"
for c in "${conds[@]}"; do
  [[ "$c" == warm || "$c" == cold ]] || { echo "run.sh: --conditions takes warm and/or cold, got '$c'" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "run.sh: needs GNU time (/usr/bin/time) for CPU time and peak RSS" >&2; exit 1; }
mkdir -p "$work"
work="$(cd "$work" && pwd)"
log() { echo "[bench] $*" >&2; }

# ---- build --------------------------------------------------------------------------------------
cli_jar="$root/merge-engine/cli/target/mergeline-cli.jar"
if [[ ! -f "$bench_jar" || ! -f "$cli_jar" ]]; then
  log "building the CLI and the benchmark (one time)"
  (cd "$root" && ./mvnw -B -q -DskipTests -pl merge-engine/cli,merge-engine/bench -am package >&2)
fi

# ---- inputs -------------------------------------------------------------------------------------
gen="$(generate_inputs "$work" "$size")"
base="$gen/base"
adapter="$gen/adapter"
base_bytes=$(cat "$base"/*.safetensors | wc -c)
base_gib=$(calc "$base_bytes / 1073741824")
shards=$(find "$base" -maxdepth 1 -name '*.safetensors' | wc -l)
layers=$(sed -n 's/.*"num_hidden_layers" *: *\([0-9]*\).*/\1/p' "$base/config.json")
need_kib=$(( base_bytes / 1024 * 3 ))
free_kib=$(df --output=avail -k "$work" | tail -1)
[[ $free_kib -gt $need_kib ]] || { echo "run.sh: $work has $((free_kib >> 20)) GiB free, needs $((need_kib >> 20))" >&2; exit 1; }

# ---- PEFT venv ----------------------------------------------------------------------------------
peft_skip=""
if [[ $peft -eq 0 ]]; then
  peft_skip="--no-peft given"
else
  venv="${venv:-$work/bench-venv}"
  if ! "$venv/bin/python" -c 'import torch, peft, transformers, safetensors' 2>/dev/null; then
    log "building $venv (torch 2.13.0+cpu, peft 0.21.0, transformers 5.17.0, safetensors 0.8.0)"
    rm -rf "$venv"
    if ! { python3 -m venv "$venv" \
        && "$venv/bin/pip" install -q torch==2.13.0+cpu peft==0.21.0 transformers==5.17.0 safetensors==0.8.0; } \
        > "$work/venv-install.log" 2>&1; then
      peft_skip="venv install failed: $(grep -m1 -iE 'error|no matching' "$work/venv-install.log" || tail -1 "$work/venv-install.log")"
    fi
  fi
fi
[[ -n "$peft_skip" ]] && log "(c) skipped: $peft_skip"

# ---- conditions ---------------------------------------------------------------------------------
inputs=("$base"/* "$adapter"/*)
cold_method="dropped (echo 3 > /proc/sys/vm/drop_caches)"
if ! can_drop_caches; then
  if dd if=/dev/null iflag=nocache count=0 status=none 2>/dev/null; then
    cold_method="inputs evicted with posix_fadvise(DONTNEED) (dd iflag=nocache; drop_caches not permitted)"
  else
    cold_method=""
  fi
fi
make_cold() {
  sync
  if [[ "$cold_method" == dropped* ]]; then
    echo 3 > /proc/sys/vm/drop_caches
  else
    local f
    for f in "${inputs[@]}"; do dd if="$f" iflag=nocache count=0 status=none; done
  fi
}
make_warm() { cat "${inputs[@]}" > /dev/null; sync; }

cpu_idle_pct() { # share of CPU time idle over the next second
  local a b tot=0 i
  read -r -a a < /proc/stat; sleep 1; read -r -a b < /proc/stat
  for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
  echo $((100 * (b[4] - a[4] + b[5] - a[5]) / (tot > 0 ? tot : 1)))
}
idle_before=""
settle() { # outside the timed region: flush earlier writes, wait for idle CPUs, set the cache condition
  sync
  local deadline=$((SECONDS + idle_wait)) idle
  idle=$(cpu_idle_pct)
  while [[ $idle -lt 90 && $SECONDS -lt $deadline ]]; do idle=$(cpu_idle_pct); done
  idle_before="$idle"
  if [[ "$1" == cold ]]; then make_cold; else make_warm; fi
}

# ---- measuring ----------------------------------------------------------------------------------
results="$work/results-${size}gib.txt"
: > "$results"
# measure COND STEP CMD...: runs CMD under GNU time; appends "COND STEP wall cpu maxrss_kib idle" to $results
measure() {
  local cond="$1" step="$2"; shift 2
  local stats="$work/.stats" wall user sys rss
  if ! /usr/bin/time -f '%e %U %S %M' -o "$stats" "$@" > "$work/$step.stdout" 2> "$work/$step.stderr"; then
    log "($step) failed:"; tail -5 "$work/$step.stderr" >&2; exit 1
  fi
  read -r wall user sys rss < <(tail -1 "$stats")
  echo "$cond $step $wall $(calc "$user + $sys") $rss $idle_before" >> "$results"
  log "$(printf '%-4s (%s) %7.2f s wall %6.2f s CPU  peak RSS %5d MiB  (CPU idle before: %s%%)' "$cond" "$step" \
    "$wall" "$(calc "$user + $sys")" $((rss / 1024)) "$idle_before")"
}

run_step() {
  local cond="$1" step="$2" out="$work/out-$2"
  rm -rf "$out"
  settle "$cond"
  case "$step" in
    a) measure "$cond" a sh -c "cp -r '$base' '$out' && sync" ;;
    b) measure "$cond" b sh -c "'$root/merge-engine/mergeline' merge --base '$base' --adapter '$adapter' --out '$out' --progress never && sync" ;;
    c) measure "$cond" c sh -c "'$venv/bin/python' '$here/peft_merge.py' '$base' '$adapter' '$out' && sync" ;;
  esac
}

steps=(a b)
[[ -z "$peft_skip" ]] && steps+=(c)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average before: $load_before"
for ((r = 0; r < runs; r++)); do
  for cond in "${conds[@]}"; do
    [[ "$cond" == cold && -z "$cold_method" ]] && continue
    n=${#steps[@]}
    for ((i = 0; i < n; i++)); do # rotate the order each run: a b c, b c a, c a b, ...
      run_step "$cond" "${steps[$(((i + r) % n))]}"
    done
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

parity="not checked ((c) skipped)"
if [[ -z "$peft_skip" ]]; then
  parity="$(java -Xmx256m -cp "$bench_jar" dev.mergeline.bench.CompareCheckpoints "$work/out-b" "$work/out-c" || true)"
fi

# ---- report -------------------------------------------------------------------------------------
label() {
  case "$1" in
    a) echo "(a) cp -r + sync" ;;
    b) echo "(b) mergeline merge + sync" ;;
    c) echo "(c) PEFT merge_and_unload + save_pretrained + sync" ;;
  esac
}
col() { awk -v c="$1" -v s="$2" -v k="$3" '$1==c && $2==s {print $k}' "$results"; }
cpu="$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
mem="$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
dev="$(df --output=source "$work" | tail -1)"
fs="$(df --output=fstype "$work" 2>/dev/null | tail -1)"
javav="$(java -version 2>&1 | head -1)"
echo
echo "## Mergeline benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "- machine: $cpu, $mem RAM, $dev ($fs), $javav"
echo "- base: $(printf '%.3f' "$base_gib") GiB bf16, $layers layers, $shards shards; adapter r=16 on 7 projections, $(($(stat -c %s "$adapter/adapter_model.safetensors") / 1048576)) MiB fp32"
echo "- warm: inputs read into the page cache before each run; cold: page cache ${cold_method:-not evictable here (cold runs skipped)}"
echo "- medians of $runs runs per step and condition, steps alternating; every step ends with sync inside the timed region"
echo "- load average (1/5/15 min) before / after: $load_before / $load_after"
echo "- CPU: user + system time of the step's processes (kernel writeback threads not included)"
for cond in "${conds[@]}"; do
  [[ "$cond" == cold && -z "$cold_method" ]] && continue
  echo
  echo "### $cond page cache"
  echo
  echo "| step | wall, each run (s) | median wall (s) | × (a) | median CPU (s) | CPU s per GiB | peak RSS (MiB) | CPU idle before each run |"
  echo "|---|---|---|---|---|---|---|---|"
  wa=$(col "$cond" a 3 | median)
  for s in "${steps[@]}"; do
    w=$(col "$cond" "$s" 3 | median)
    c=$(col "$cond" "$s" 4 | median)
    rss=$(col "$cond" "$s" 5 | sort -g | tail -1)
    printf '| %s | %s| %.2f | %.2f | %.2f | %.2f | %d | %s|\n' "$(label "$s")" "$(col "$cond" "$s" 3 | tr '\n' ' ')" \
      "$w" "$(calc "$w / $wa")" "$c" "$(calc "$c / $base_gib")" $((rss / 1024)) \
      "$(col "$cond" "$s" 6 | awk '{printf "%s%% ", $1}')"
  done
done
[[ -n "$peft_skip" ]] && echo && echo "(c) PEFT skipped: $peft_skip"
echo
echo "- (b) vs (c) output: $parity"
echo "- mergeline's own phase timings (last run): $(tr -d ' \n' < "$work/b.stdout" | grep -o '"timingsMs":{[^}]*}' || echo n/a)"
[[ -z "$peft_skip" ]] && echo "- PEFT phases (last run): $(tail -1 "$work/c.stdout")"
rm -rf "$work"/out-a "$work"/out-b "$work"/out-c
[[ $keep -eq 1 ]] || rm -rf "$gen"
exit 0
