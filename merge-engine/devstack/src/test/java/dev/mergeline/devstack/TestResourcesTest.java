package dev.mergeline.devstack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.services.s3.S3Client;

/** The Quarkus test resources' lifecycle, driven as Quarkus drives it (init, start, stop). */
class TestResourcesTest {

    @Test
    void kafkaResourceStartsBrokerWithTopicsAndStopsIt() throws Exception {
        KafkaTestResource resource = new KafkaTestResource();
        resource.init(Map.of("topics", "merge-requests, merged-model-ready", "partitions", "2"));
        Map<String, String> config = resource.start();
        Path stateDir;
        try {
            assertEquals(Set.of(KafkaTestResource.BOOTSTRAP_SERVERS), config.keySet());
            KafkaBroker broker = KafkaTestResource.broker();
            stateDir = broker.stateDir();
            assertEquals(config.get("kafka.bootstrap.servers"), broker.bootstrapServers());
            assertTrue(broker.isRunning());
            try (var admin = broker.admin(Duration.ofSeconds(10))) {
                var topics = admin.describeTopics(Set.of("merge-requests", "merged-model-ready")).allTopicNames().get();
                assertEquals(2, topics.get("merge-requests").partitions().size());
                assertEquals(2, topics.get("merged-model-ready").partitions().size());
            }
        } finally {
            resource.stop();
        }
        assertFalse(Files.exists(stateDir));
        assertNull(System.getProperty(KafkaTestResource.STATE_DIR_PROPERTY));
        assertThrows(IllegalStateException.class, KafkaTestResource::broker);
    }

    @Test
    void s3ResourceStartsServerWithBucketAndStopsIt() {
        S3MockTestResource resource = new S3MockTestResource();
        resource.init(Map.of("buckets", "extra"));
        Map<String, String> config = resource.start();
        Path stateDir;
        try {
            S3MockServer server = S3MockTestResource.server();
            stateDir = server.stateDir();
            assertEquals(Map.of(
                    "mergeline.s3.endpoint", server.endpoint(),
                    "mergeline.s3.path-style", "true",
                    "mergeline.bucket", "mergeline",
                    "mergeline.s3.region", "us-east-1",
                    "mergeline.s3.access-key", "foo",
                    "mergeline.s3.secret-key", "bar"), config);
            try (S3Client s3 = S3MockServerTest.client(server)) {
                var names = s3.listBuckets().buckets().stream().map(b -> b.name()).toList();
                assertTrue(names.containsAll(Set.of("mergeline", "extra")), names.toString());
            }
        } finally {
            resource.stop();
        }
        assertFalse(Files.exists(stateDir));
        assertThrows(IllegalStateException.class, S3MockTestResource::server);
    }
}
