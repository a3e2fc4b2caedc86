#!/bin/bash
# Creates Mergeline's Kafka topics; run once by the `kafka-init` service of docker-compose.yml (the
# apache/kafka image has kafka-topics.sh, the LocalStack container has no Kafka CLI). The broker has
# topic auto-creation off, so a typo in a topic name fails loudly instead of creating a new topic.
# Topics: DESIGN.md "Kafka topics and events"; LocalStackFilesTest checks that every
# mp.messaging.*.topic of the functions and the worker is created here.
set -euo pipefail

bootstrap="${KAFKA_BOOTSTRAP:-kafka:29092}"
topics=(
  adapter-uploads    # in: S3 notifications or announcements (Kafka ingress)
  merge-requests     # validated jobs (key = jobId) -> merge worker
  merged-model-ready # merged-model.ready
  merge-failures     # adapter.rejected, merge.failed, message.malformed
  merge-progress     # optional progress of long merges
)

for topic in "${topics[@]}"; do
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$topic" --partitions 1 --replication-factor 1
done
/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --list
echo "MERGELINE_TOPICS_READY ${topics[*]}"
