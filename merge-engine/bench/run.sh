#!/usr/bin/env bash
# Mergeline benchmark (see docs/performance.md):
#   merge-engine/bench/run.sh [--size-gib 2] [--runs 3] [--work DIR] [--no-peft] [--no-drop-caches]
#                             [--idle-wait SECONDS]
#
# Generates a synthetic Llama-shaped bf16 checkpoint (hidden 4096, intermediate 11008, vocab 32000,
# as many layers as give --size-gib, sharded at 1 GB) and a PEFT LoRA adapter (r=16 on q,k,v,o,
# gate,up,down, fp32), then measures, alternating, --runs times each:
#   (a) cp of the base shard files + sync        — the disk's own limit
#   (b) merge-engine/mergeline merge + sync       — this project
#   (c) PEFT merge_and_unload() + save_pretrained() + sync, in a venv built from pinned wheels
# and prints wall time, GB/s (base bytes / wall time), peak RSS of each, the medians and the
# ratios b/a and c/b, then checks that (b)'s output equals (c)'s tensor by tensor.
# Before each run it waits (up to --idle-wait seconds, default 120) until the CPUs are idle, so
# that other work on a shared machine disturbs the runs as little as possible; each run's CPU
# idle share just before it started is reported.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"
size=2
runs=3
work="${TMPDIR:-/tmp}/mergeline-bench"
peft=1
drop=1
idle_wait=120
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size-gib) size="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --no-peft) peft=0; shift ;;
    --no-drop-caches) drop=0; shift ;;
    --idle-wait) idle_wait="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
positive_int --runs "$runs"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
log() { echo "[bench] $*" >&2; }

# ---- build --------------------------------------------------------------------------------------
cli_jar="$root/merge-engine/cli/target/mergeline-cli.jar"
if [[ ! -f "$bench_jar" || ! -f "$cli_jar" ]]; then
  log "building the CLI and the benchmark (one time)"
  (cd "$root" && ./mvnw -B -q -DskipTests -pl merge-engine/cli,merge-engine/bench -am install >&2)
fi

# ---- inputs -------------------------------------------------------------------------------------
gen="$(generate_inputs "$work" "$size")"
base="$gen/base"
adapter="$gen/adapter"
base_bytes=$(cat "$base"/*.safetensors | wc -c)
shards=$(find "$base" -maxdepth 1 -name '*.safetensors' | wc -l)
layers=$(sed -n 's/.*"num_hidden_layers" *: *\([0-9]*\).*/\1/p' "$base/config.json")

# ---- PEFT venv ----------------------------------------------------------------------------------
venv="$work/bench-venv"
peft_skip=""
if [[ $peft -eq 0 ]]; then
  peft_skip="--no-peft given"
elif ! "$venv/bin/python" -c 'import torch, peft, transformers, safetensors' 2>/dev/null; then
  log "building $venv (torch 2.13.0+cpu, peft 0.21.0, transformers 5.17.0, safetensors 0.8.0)"
  rm -rf "$venv"
  if ! { python3 -m venv "$venv" \
      && "$venv/bin/pip" install -q torch==2.13.0+cpu peft==0.21.0 transformers==5.17.0 safetensors==0.8.0; } \
      > "$work/venv-install.log" 2>&1; then
    peft_skip="venv install failed: $(grep -m1 -iE 'error|no matching' "$work/venv-install.log" || tail -1 "$work/venv-install.log")"
  fi
fi
[[ -n "$peft_skip" ]] && log "(c) skipped: $peft_skip"

# ---- measuring ----------------------------------------------------------------------------------
can_drop=0
if [[ $drop -eq 1 ]] && can_drop_caches; then
  can_drop=1
fi
cpu_idle_pct() { # share of CPU time idle over the next second
  local a b tot=0 i
  read -r -a a < /proc/stat; sleep 1; read -r -a b < /proc/stat
  for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
  echo $((100 * (b[4] - a[4] + b[5] - a[5]) / (tot > 0 ? tot : 1)))
}
idle_before=""
settle() { # outside the timed region: flush earlier writes, wait for idle CPUs, drop the page cache
  sync
  local deadline=$((SECONDS + idle_wait)) idle
  idle=$(cpu_idle_pct)
  while [[ $idle -lt 90 && $SECONDS -lt $deadline ]]; do idle=$(cpu_idle_pct); done
  idle_before="$idle"
  if [[ $can_drop -eq 1 ]]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
}

# measure NAME OUTDIR CMD...: runs CMD, appends "NAME seconds maxrss_kib" to $results
results="$work/results-${size}gib.txt"
: > "$results"
measure() {
  local name="$1" out="$2"; shift 2
  local stats="$work/.stats" t0 t1 rss
  t0=$(date +%s.%N)
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%M' -o "$stats" "$@" > "$work/$name.stdout" 2> "$work/$name.stderr"
    rss=$(tail -1 "$stats")
  else # no GNU time: poll VmHWM of the process tree
    "$@" > "$work/$name.stdout" 2> "$work/$name.stderr" &
    local pid=$! peak=0 p h
    while kill -0 "$pid" 2>/dev/null; do
      for p in $pid $(pgrep -P "$pid" || true); do
        h=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        [[ -n "$h" && "$h" -gt "$peak" ]] && peak=$h
      done
      sleep 0.05
    done
    wait "$pid"
    rss=$peak
  fi
  t1=$(date +%s.%N)
  echo "$name $(calc "$t1 - $t0") $rss $idle_before" >> "$results"
  log "$(printf '%-6s %7.2f s  peak RSS %6d MiB  (CPU idle before: %s%%)' "$name" "$(calc "$t1 - $t0")" $((rss / 1024)) "$idle_before")"
}

run_step() {
  local step="$1" out="$work/out-$1"
  rm -rf "$out"
  settle
  case "$step" in
    a) mkdir -p "$out"; measure a "$out" sh -c "cp '$base'/*.safetensors '$out'/ && sync" ;;
    b) measure b "$out" sh -c "'$root/merge-engine/mergeline' merge --base '$base' --adapter '$adapter' --out '$out' && sync" ;;
    c) measure c "$out" sh -c "'$venv/bin/python' '$here/peft_merge.py' '$base' '$adapter' '$out' && sync" ;;
  esac
}

steps=(a b)
[[ -z "$peft_skip" ]] && steps+=(c)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average before: $load_before"
for ((r = 0; r < runs; r++)); do
  n=${#steps[@]}
  for ((i = 0; i < n; i++)); do # rotate the order each run: a b c, b c a, c a b, ...
    run_step "${steps[$(((i + r) % n))]}"
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

parity="not checked ((c) skipped)"
if [[ -z "$peft_skip" ]]; then
  parity="$(java -Xmx256m -cp "$bench_jar" dev.mergeline.bench.CompareCheckpoints "$work/out-b" "$work/out-c" || true)"
fi

# ---- report -------------------------------------------------------------------------------------
declare -A med rssmax times idles
for s in "${steps[@]}"; do
  med[$s]=$(awk -v s="$s" '$1==s {print $2}' "$results" | median)
  rssmax[$s]=$(awk -v s="$s" '$1==s {print $3}' "$results" | sort -g | tail -1)
  times[$s]=$(awk -v s="$s" '$1==s {printf "%.2f ", $2}' "$results")
  idles[$s]=$(awk -v s="$s" '$1==s {printf "%s%% ", $4}' "$results")
done
label() {
  case "$1" in
    a) echo "(a) cp shards + sync" ;;
    b) echo "(b) mergeline merge" ;;
    c) echo "(c) PEFT merge_and_unload + save_pretrained" ;;
  esac
}
cpu="$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
mem="$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
dev="$(df --output=source "$work" | tail -1)"
fs="$(df --output=fstype "$work" 2>/dev/null | tail -1)"
rot="$(cat "/sys/block/$(basename "$dev")/queue/rotational" 2>/dev/null || echo '?')"
javav="$(java -version 2>&1 | head -1)"
echo
echo "## Mergeline benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "- machine: $cpu, $mem RAM, $dev ($fs, rotational=$rot), $javav"
echo "- base: $(printf '%.3f' "$(calc "$base_bytes / 1073741824")") GiB bf16, $layers layers, $shards shards; adapter r=16 on 7 projections, $(($(stat -c %s "$adapter/adapter_model.safetensors") / 1048576)) MiB fp32"
echo "- page cache dropped before every run: $([[ $can_drop -eq 1 ]] && echo yes || echo 'no (not permitted here): runs alternate instead')"
echo "- load average (1/5/15 min) before / after: $load_before / $load_after"
echo
echo "| step | runs (s) | median (s) | GB/s | peak RSS (MiB) | CPU idle before each run |"
echo "|---|---|---|---|---|---|"
for s in "${steps[@]}"; do
  printf '| %s | %s| %.2f | %.2f | %d | %s|\n' "$(label "$s")" "${times[$s]}" "${med[$s]}" \
    "$(calc "$base_bytes / ${med[$s]} / 1000000000")" $((rssmax[$s] / 1024)) "${idles[$s]}"
done
[[ -n "$peft_skip" ]] && echo "| (c) PEFT | skipped: $peft_skip | | | | |"
echo
printf -- '- b/a = %.2f' "$(calc "${med[b]} / ${med[a]}")"
[[ -z "$peft_skip" ]] && printf '; c/b = %.1f' "$(calc "${med[c]} / ${med[b]}")"
echo
echo "- (b) vs (c) output: $parity"
echo "- mergeline's own phase timings (last run): $(tr -d ' \n' < "$work/b.stdout" | grep -o '"timingsMs":{[^}]*}' || echo n/a)"
[[ -z "$peft_skip" ]] && echo "- PEFT phases (last run): $(tail -1 "$work/c.stdout")"
