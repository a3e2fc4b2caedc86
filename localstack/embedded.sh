#!/usr/bin/env bash
# localstack/embedded.sh up|down|status — Mergeline's Docker-free local stack:
#   S3 API on 127.0.0.1:4566 (S3Mock behind a proxy that sends AWS-shaped S3 event notifications),
#   Kafka (KRaft) on 127.0.0.1:9092, the functions app (service mode) and the merge worker,
#   each a separate process; state and logs under $MERGELINE_STATE_DIR (default ~/.mergeline/embedded).
# Builds what it needs through ./mvnw on first use.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${MERGELINE_STATE_DIR:-$HOME/.mergeline/embedded}"
s3_port="${MERGELINE_S3_PORT:-4566}"
s3mock_port="${MERGELINE_S3MOCK_PORT:-4567}"
kafka_port="${MERGELINE_KAFKA_PORT:-9092}"
functions_port="${MERGELINE_FUNCTIONS_PORT:-8081}"
worker_port="${MERGELINE_WORKER_PORT:-8082}"
topics="adapter-uploads,merge-requests,merged-model-ready,merge-failures,merge-progress"

embedded_jar="$root/merge-engine/embedded/target/mergeline-embedded.jar"
functions_jar="$root/functions/target-service/quarkus-app/quarkus-run.jar"
worker_jar="$root/merge-engine/worker/target/quarkus-app/quarkus-run.jar"
cp="$embedded_jar:$root/merge-engine/embedded/target/lib/*"

log() { printf '%s\n' "$*" >&2; }

# One reactor build of the three apps and the modules they need (-am): nothing is installed into or
# read back from ~/.m2, so it works on a fresh clone and after `./mvnw verify` alike. -Pservice
# builds the functions as a plain Quarkus app into functions/target-service (the Lambda build in
# functions/target is left alone); the other modules have no such profile.
build() {
  if [[ ! -f "$embedded_jar" || ! -f "$worker_jar" || ! -f "$functions_jar" ]]; then
    log "• building Mergeline (first run; a few minutes)…"
    (cd "$root" && ./mvnw -B -q -Pservice -DskipTests package \
      -pl merge-engine/embedded,merge-engine/worker,functions -am >&2)
  fi
}

alive() { [[ -f "$state/$1.pid" ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

# start NAME COMMAND... — runs a process in the background, detached, logging to $state/NAME.log.
start() {
  local name=$1; shift
  if alive "$name"; then return 0; fi
  nohup setsid "$@" >"$state/$name.log" 2>&1 < /dev/null &
  echo $! >"$state/$name.pid"
}

wait_http() {
  local name=$1 url=$2 deadline=$((SECONDS + ${3:-180}))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if ! alive "$name"; then log "✗ $name exited; last lines of $state/$name.log:"; tail -n 30 "$state/$name.log" >&2; exit 1; fi
    if (( SECONDS > deadline )); then log "✗ $name not ready at $url; see $state/$name.log"; exit 1; fi
    sleep 1
  done
}

# Configuration shared by the functions app and the worker (see the README's configuration table).
app_env=(MERGELINE_BUCKET=mergeline
  "MERGELINE_S3_ENDPOINT=http://127.0.0.1:$s3mock_port" MERGELINE_S3_PATH_STYLE=true
  MERGELINE_S3_ACCESS_KEY=foo MERGELINE_S3_SECRET_KEY=bar
  "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$kafka_port")

up() {
  mkdir -p "$state"
  build
  log "• state and logs: $state"
  java -cp "$cp" dev.mergeline.devstack.DevStackCli up "$state/devstack" --kafka-port "$kafka_port" \
    --s3-port "$s3mock_port" --buckets mergeline --topics "$topics" >"$state/devstack.out"
  start s3-proxy java -Xmx256m -cp "$cp" dev.mergeline.embedded.S3NotificationProxy "$s3_port" \
    "http://127.0.0.1:$s3mock_port" "http://127.0.0.1:$functions_port/s3Trigger" adapters/
  start functions env "${app_env[@]}" MERGELINE_SERVICE_MODE=true QUARKUS_HTTP_PORT="$functions_port" \
    java -Xmx512m -jar "$functions_jar"
  start worker env "${app_env[@]}" QUARKUS_HTTP_PORT="$worker_port" MERGELINE_WORKER_SCRATCH_DIR="$state/worker-scratch" \
    java -Xmx1g -XX:MaxDirectMemorySize=2g -jar "$worker_jar"
  wait_http functions "http://127.0.0.1:$functions_port/q/health/ready"
  wait_http worker "http://127.0.0.1:$worker_port/q/health/ready"
  until (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null; do
    alive s3-proxy || { log "✗ s3-proxy exited; see $state/s3-proxy.log"; exit 1; }
    sleep 0.5
  done
  echo "S3 endpoint      http://127.0.0.1:$s3_port   (bucket mergeline; any access key, path-style)"
  echo "Kafka            127.0.0.1:$kafka_port"
  echo "functions        http://127.0.0.1:$functions_port  (service mode)"
  echo "worker           http://127.0.0.1:$worker_port/q/health"
  echo "state and logs   $state"
}

status() {
  local ok=0
  for p in s3-proxy functions worker; do
    if alive "$p"; then echo "$p running (pid $(cat "$state/$p.pid"))"; else echo "$p stopped"; ok=3; fi
  done
  if [[ -f "$embedded_jar" ]]; then
    java -cp "$cp" dev.mergeline.devstack.DevStackCli status "$state/devstack" || ok=3
  else
    echo "not built"; ok=3
  fi
  echo "state $state"
  return $ok
}

down() {
  for p in s3-proxy functions worker; do
    if alive "$p"; then
      kill "$(cat "$state/$p.pid")" 2>/dev/null || true
      for _ in $(seq 1 30); do alive "$p" || break; sleep 0.5; done
      if alive "$p"; then kill -9 "$(cat "$state/$p.pid")" 2>/dev/null || true; fi
    fi
    rm -f "$state/$p.pid"
  done
  if [[ -f "$embedded_jar" && -d "$state/devstack" ]]; then
    java -cp "$cp" dev.mergeline.devstack.DevStackCli down "$state/devstack" >/dev/null
  fi
  echo "stopped (state kept in $state)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 64 ;;
esac
