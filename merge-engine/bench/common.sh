# Shared by run.sh and gpu.sh (sourced, not run). The caller sets `here` (this folder) first.
# shellcheck shell=bash disable=SC2034,SC2154

root="$(cd "$here/../.." && pwd)"
bench_jar="$here/target/mergeline-bench.jar"

calc() { awk "BEGIN { print $* }"; } # floating-point arithmetic without bc
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# positive_int NAME VALUE: exits unless VALUE is a positive integer
positive_int() {
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "$(basename "$0"): $1 must be a positive integer, got '$2'" >&2; exit 1; }
}

# generate_inputs WORK SIZE_GIB: the synthetic checkpoint and adapter, generated once per size into
# WORK/gen-<size>gib/{base,adapter}; prints that folder
generate_inputs() {
  local gen="$1/gen-${2}gib"
  if [[ ! -f "$gen/.complete" ]]; then
    rm -rf "$gen"
    echo "[bench] generating a $2 GiB checkpoint and adapter in $gen" >&2
    java -Xmx256m -XX:MaxDirectMemorySize=256m -jar "$bench_jar" --out "$gen" --size-gib "$2" >&2
    touch "$gen/.complete"
  fi
  echo "$gen"
}

# can_drop_caches: true when this process may drop the page cache (root on Linux)
can_drop_caches() { sync && (echo 3 > /proc/sys/vm/drop_caches) 2> /dev/null; }
