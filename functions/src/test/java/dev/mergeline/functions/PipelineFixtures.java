package dev.mergeline.functions;

import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockServer;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.MergeRequested;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** Uploads fixture checkpoints to the test S3 server and reads events with a plain Kafka consumer. */
final class PipelineFixtures {
    private PipelineFixtures() {}

    static S3Client s3() {
        return S3Client.builder()
                .endpointOverride(URI.create(S3MockTestResource.server().endpoint()))
                .forcePathStyle(true)
                .region(Region.of(S3MockServer.REGION))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(S3MockServer.ACCESS_KEY, S3MockServer.SECRET_KEY)))
                .build();
    }

    /** Uploads every file of {@code dir} under {@code prefix}; returns the keys. */
    static List<String> upload(S3Client s3, Path dir, String prefix) throws IOException {
        List<String> keys = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String key = prefix + f.getFileName();
                s3.putObject(b -> b.bucket("mergeline").key(key), RequestBody.fromFile(f));
                keys.add(key);
            }
        }
        return keys;
    }

    static void put(S3Client s3, String key, String content) {
        s3.putObject(b -> b.bucket("mergeline").key(key), RequestBody.fromString(content));
    }

    static Path fixture(String caseName, String part) {
        return PeftFixtures.caseDir(caseName).resolve(part);
    }

    /** The S3 notification JSON AWS sends for a PUT of each key (URL-encoded as AWS does). */
    static String notification(List<String> keys) {
        StringBuilder records = new StringBuilder();
        for (String key : keys) {
            if (records.length() > 0) {
                records.append(',');
            }
            String encoded = java.net.URLEncoder.encode(key, java.nio.charset.StandardCharsets.UTF_8).replace("%2F", "/");
            records.append("""
                    {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
                     "eventTime":"2026-11-29T12:00:00.000Z","eventName":"ObjectCreated:Put",
                     "s3":{"s3SchemaVersion":"1.0","bucket":{"name":"mergeline","arn":"arn:aws:s3:::mergeline"},
                           "object":{"key":"%s","size":1,"eTag":"d41d8cd98f00b204e9800998ecf8427e","sequencer":"0055AED6DCD90281E5"}}}
                    """.formatted(encoded));
        }
        return "{\"Records\":[" + records + "]}";
    }

    static KafkaConsumer<String, byte[]> consumer(String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaTestResource.broker().bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        c.subscribe(List.of(topic));
        return c;
    }

    /** Polls until a record with {@code key} arrives (or the timeout passes). */
    static <T> List<CloudEvent<T>> await(KafkaConsumer<String, byte[]> consumer, String key, Class<T> type,
            int count, Duration timeout) {
        List<CloudEvent<T>> found = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (found.size() < count && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(250))) {
                if (key.equals(r.key())) {
                    found.add(EventCodec.instance().decode(r.value(), type));
                }
            }
        }
        return found;
    }

    /**
     * Every record of the consumer's topic up to the end offsets it has when called: a complete
     * answer, not one bounded by a wait.
     */
    static List<ConsumerRecord<String, byte[]>> readToEnd(KafkaConsumer<String, byte[]> consumer) {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (consumer.assignment().isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no partition assigned within 30 s");
            }
            consumer.poll(Duration.ofMillis(100)).forEach(records::add);
        }
        Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment());
        while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the topic was not read to " + end + " within 30 s");
            }
            consumer.poll(Duration.ofMillis(100)).forEach(records::add);
        }
        return records;
    }

    /** The adapter ids of the {@code merge.requested} events in the topic ({@link #readToEnd}). */
    static List<String> requestedAdapterIds(KafkaConsumer<String, byte[]> requests) {
        return readToEnd(requests).stream()
                .map(r -> EventCodec.instance().decode(r.value(), MergeRequested.class).data().adapter().id())
                .toList();
    }

    /** Every record currently readable, by key. */
    static Map<String, Integer> drainCounts(KafkaConsumer<String, byte[]> consumer, Duration quiet) {
        Map<String, Integer> counts = new java.util.HashMap<>();
        long deadline = System.nanoTime() + quiet.toNanos();
        while (System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(r -> counts.merge(r.key(), 1, Integer::sum));
        }
        return counts;
    }
}
