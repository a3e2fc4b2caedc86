#!/bin/bash
# LocalStack ready hook 4/5: the Kafka ingress (topic adapter-uploads), chosen by MERGELINE_KAFKA_INGRESS.
#   lambda   an event source mapping (self-managed Kafka) -> mergeline-kafka-trigger. Kafka event
#            source mappings are a paid LocalStack feature: use this only where your plan has them.
#   service  (default) no mapping; the functions app in service mode (docker-compose.yml, service
#            `functions`, MERGELINE_SERVICE_MODE=true) consumes adapter-uploads itself.
# The topics themselves are created by the kafka-init service (kafka-init/create-topics.sh) before
# LocalStack starts: this container has no Kafka CLI.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=mergeline.conf
source "$(dirname "${BASH_SOURCE[0]}")/mergeline.conf"

existing="$(awslocal lambda list-event-source-mappings --function-name "$kafka_function" \
  --query 'EventSourceMappings[].UUID' --output text)"
existing="${existing//None/}"

if [[ "$kafka_ingress" == service ]]; then
  for uuid in $existing; do
    awslocal lambda delete-event-source-mapping --uuid "$uuid" >/dev/null
    log "deleted event source mapping $uuid (ingress: service)"
  done
  log "Kafka ingress: service mode (the functions container consumes $uploads_topic)"
  exit 0
fi

if [[ -n "${existing// /}" ]]; then
  log "Kafka ingress: lambda; event source mapping $existing exists"
  exit 0
fi

awslocal lambda create-event-source-mapping --function-name "$kafka_function" \
  --topics "$uploads_topic" --starting-position TRIM_HORIZON --batch-size 10 \
  --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$lambda_kafka_bootstrap\"]}}" \
  --self-managed-kafka-event-source-config "{\"ConsumerGroupId\":\"$kafka_consumer_group\"}" \
  >/dev/null
log "Kafka ingress: lambda; $uploads_topic@$lambda_kafka_bootstrap -> $kafka_function"
