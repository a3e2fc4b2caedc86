#!/usr/bin/env bash
# Mergeline GPU check (see docs/gpu.md): one command for a machine with an
# NVIDIA GPU, CUDA 12 and cuDNN 9 libraries on the library path, Java 17, and Maven able to resolve
# the build (online, or a warm ~/.m2 with --offline). Sized for under 8 minutes.
#
#   merge-engine/bench/gpu.sh [--size-gib 2] [--runs 3] [--work DIR] [--offline] [--block-mib 64]
#
# 1. reports the GPU, the driver's CUDA version, the CUDA runtime and cuDNN versions found, and what the
#    ONNX Runtime GPU build needs (CUDA 12.x, cuDNN 9); a mismatch is named in one line;
# 2. builds the CLI with the `gpu` profile (onnxruntime_gpu) and the benchmark module;
# 3. generates the synthetic Llama checkpoint and adapter (as run.sh does);
# 4. merges it --runs times with the CUDA provider and --runs times on the CPU (MERGELINE_DEVICE=cpu),
#    alternating, page cache dropped when permitted; prints wall time and GB/s of each, the pipeline's
#    stage times, and ONNX Runtime's own profile (graph execution vs copies and waits, node placement);
#    a failed merge's last stderr lines are shown and the run counts as failed;
# 5. checks that the CUDA output equals the CPU output tensor by tensor (CompareCheckpoints).
# Exit status: 0 when the CUDA provider ran and the outputs agree; 1 otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"
size=2
runs=3
work="${TMPDIR:-/tmp}/mergeline-gpu"
offline=""
block_mib=64
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size-gib) size="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --offline) offline="-o"; shift ;;
    --block-mib) block_mib="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
positive_int --runs "$runs"
positive_int --block-mib "$block_mib"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
log() { echo "[gpu] $*" >&2; }

# ---- 1. the machine ------------------------------------------------------------------------------
if ! command -v nvidia-smi > /dev/null || ! nvidia-smi > /dev/null 2>&1; then
  echo "gpu.sh: no NVIDIA GPU here (nvidia-smi missing or failing); nothing to check" >&2
  exit 1
fi
gpu="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
log "GPU: $gpu"
missing=()
IFS=: read -r -a lib_dirs <<< "${LD_LIBRARY_PATH:-}"
for lib in libcudart.so.12 libcublas.so.12 libcublasLt.so.12 libcufft.so.11 libcurand.so.10 libcudnn.so.9; do
  if ldconfig -p 2>/dev/null | grep -q "$lib" \
      || { [[ ${#lib_dirs[@]} -gt 0 ]] && find "${lib_dirs[@]}" -maxdepth 1 -name "$lib*" 2>/dev/null | grep -q .; }; then
    log "found $lib"
  else
    missing+=("$lib")
  fi
done
[[ ${#missing[@]} -gt 0 ]] && log "missing: ${missing[*]} — ONNX Runtime will fall back to the CPU (the check then fails)"

# Versions: the driver's CUDA (the newest runtime it can serve), and the runtime and cuDNN libraries
# present (from their file names, e.g. libcudart.so.12.4.127). ONNX Runtime's GPU jar links CUDA 12 + cuDNN 9.
ort_needs="CUDA 12.x runtime + cuDNN 9 (onnxruntime_gpu $(sed -n 's:.*<onnxruntime.version>\(.*\)</onnxruntime.version>.*:\1:p' "$root/pom.xml"))"
driver_cuda="$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)"
found_versions() { # found_versions PREFIX: versions of PREFIX.so.* in the linker cache and LD_LIBRARY_PATH
  { ldconfig -p 2>/dev/null | grep -o "$1\.so\.[0-9][0-9.]*" || true
    [[ ${#lib_dirs[@]} -gt 0 ]] && find "${lib_dirs[@]}" -maxdepth 1 -name "$1.so.*" -printf '%f\n' 2>/dev/null || true
  } | sed "s/^$1\.so\.//" | sort -uV | tr '\n' ' '
}
cudart_versions="$(found_versions libcudart)"
cudnn_versions="$(found_versions libcudnn)"
log "driver supports CUDA ${driver_cuda:-?}; CUDA runtime found: ${cudart_versions:-none}; cuDNN found: ${cudnn_versions:-none}"
log "ONNX Runtime's CUDA provider needs: $ort_needs"
cudart_major="$(for v in $cudart_versions; do echo "${v%%.*}"; done | sort -un | tr '\n' ' ')"
if [[ " $cudart_major " != *" 12 "* ]]; then
  log "MISMATCH: no CUDA 12 runtime (found: ${cudart_versions:-none}; driver CUDA ${driver_cuda:-?}); install the CUDA 12 libraries or use a CUDA 12 image — the CUDA provider cannot load here"
fi

# ---- 2. build ------------------------------------------------------------------------------------
log "building the CLI (-Pgpu: onnxruntime_gpu) and the benchmark"
(cd "$root" && ./mvnw -B -q $offline -Pgpu -DskipTests -Dmaven.jar.forceCreation=true -pl merge-engine/cli,merge-engine/bench -am package >&2)
cli_jar="$root/merge-engine/cli/target/mergeline-cli.jar"
# The jar's Class-Path names the ONNX Runtime jar it was built with (read with the JDK's jar tool:
# the library folder may also hold a stale jar of an earlier CPU build).
manifest_dir="$(mktemp -d)"
(cd "$manifest_dir" && jar xf "$cli_jar" META-INF/MANIFEST.MF)
tr -d '\r\n ' < "$manifest_dir/META-INF/MANIFEST.MF" | grep -q 'lib/onnxruntime_gpu-' \
  || { rm -rf "$manifest_dir"; echo "gpu.sh: the CLI was not built with onnxruntime_gpu" >&2; exit 1; }
rm -rf "$manifest_dir"

# ---- 3. inputs -----------------------------------------------------------------------------------
gen="$(generate_inputs "$work" "$size")"
base_bytes=$(cat "$gen"/base/*.safetensors | wc -c)

# ---- 4. measure ----------------------------------------------------------------------------------
can_drop=0
if can_drop_caches; then can_drop=1; fi
results="$work/results.txt"
: > "$results"
merge() { # merge DEVICE RUN
  local device="$1" run="$2" out="$work/out-$1" prof="$work/prof-$1-$2" t0 t1
  rm -rf "$out" "$prof"
  mkdir -p "$prof"
  sync
  [[ $can_drop -eq 1 ]] && echo 3 > /proc/sys/vm/drop_caches
  t0=$(date +%s.%N)
  local rc=0
  MERGELINE_DEVICE="$device" MERGELINE_JAVA_OPTS="-Xmx2g -XX:MaxDirectMemorySize=4g -Dmergeline.profile=true \
-Dmergeline.blockBytes=$((block_mib << 20)) -Dmergeline.ort.profile=$prof/ort" \
    "$root/merge-engine/mergeline" merge --base "$gen/base" --adapter "$gen/adapter" --out "$out" \
    > "$work/$device.stdout" 2> "$work/$device.stderr" || rc=$?
  sync
  t1=$(date +%s.%N)
  if grep -q 'failed its start-up probe' "$work/$device.stderr"; then
    log "$device run $run: $(grep -o '[A-Z]* execution provider failed its start-up probe.*' "$work/$device.stderr" | head -1)"
  fi
  if [[ $rc -ne 0 ]]; then
    log "$device run $run: the merge FAILED (exit $rc); last lines of its stderr:"
    tail -n 15 "$work/$device.stderr" | sed 's/^/[gpu]   /' >&2
    echo "$device $(calc "$t1 - $t0") FAILED" >> "$results"
    return 0
  fi
  local provider stages ort
  provider="$(grep -o '"executionProvider" *: *"[A-Z]*"' "$work/$device.stdout" | grep -o '[A-Z]*"$' | tr -d '"' || true)"
  stages="$(grep -o 'stages: .*' "$work/$device.stderr" | head -1)"
  ort="$(java -Xmx512m -cp "$bench_jar" dev.mergeline.bench.OrtProfileSummary "$prof"/ort*.json || echo "no ONNX Runtime profile")"
  echo "$device $(calc "$t1 - $t0") $provider" >> "$results"
  log "$(printf '%-5s run %d: %6.2f s, %5.2f GB/s, provider %s' "$device" "$run" "$(calc "$t1 - $t0")" \
    "$(calc "$base_bytes / ($t1 - $t0) / 1e9")" "${provider:-?}")"
  log "      $stages"
  log "      $ort"
}
for ((r = 1; r <= runs; r++)); do
  if ((r % 2)); then merge cuda "$r"; merge cpu "$r"; else merge cpu "$r"; merge cuda "$r"; fi
done

# ---- 5. report -----------------------------------------------------------------------------------
status=0
parity="$(java -Xmx512m -cp "$bench_jar" dev.mergeline.bench.CompareCheckpoints "$work/out-cuda" "$work/out-cpu" 2>&1)" || status=1
cuda_provider="$(awk '$1=="cuda" {print $3}' "$results" | sort -u | tr '\n' ' ')"
[[ "$cuda_provider" == "CUDA " ]] || { status=1; log "the cuda runs did not all use the CUDA provider: $cuda_provider"; }
echo
echo "## Mergeline GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "- GPU: $gpu; $(nproc) CPU cores; block size $block_mib MiB; page cache dropped: $([[ $can_drop -eq 1 ]] && echo yes || echo no)"
echo "- base: $(printf '%.3f' "$(calc "$base_bytes / 1073741824")") GiB bf16; missing CUDA libraries: ${missing[*]:-none}"
echo "- driver CUDA ${driver_cuda:-?}; CUDA runtime ${cudart_versions:-none}; cuDNN ${cudnn_versions:-none}; needed: $ort_needs"
echo
echo "| device | provider | runs (s) | median (s) | GB/s |"
echo "|---|---|---|---|---|"
for d in cuda cpu; do
  m=$(awk -v d="$d" '$1==d {print $2}' "$results" | median)
  printf '| %s | %s | %s| %.2f | %.2f |\n' "$d" "$(awk -v d="$d" '$1==d {print $3; exit}' "$results")" \
    "$(awk -v d="$d" '$1==d {printf "%.2f ", $2}' "$results")" "$m" "$(calc "$base_bytes / $m / 1e9")"
done
echo
echo "- CUDA output vs CPU output: $parity"
echo "- last CUDA run, ONNX Runtime profile: $(java -Xmx512m -cp "$bench_jar" dev.mergeline.bench.OrtProfileSummary "$work/prof-cuda-$runs"/ort*.json 2>&1 || echo "none")"
exit $status
