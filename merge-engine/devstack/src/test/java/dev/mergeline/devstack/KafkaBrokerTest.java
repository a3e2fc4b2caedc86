package dev.mergeline.devstack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaBrokerTest {

    @TempDir
    Path stateDir;

    @Test
    void producesConsumesAndKeepsDataAcrossRestart() throws Exception {
        long t0 = System.nanoTime();
        KafkaBroker broker = KafkaBroker.start(stateDir, 0);
        try {
            System.out.printf("KafkaBroker first start (format + start): %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            assertTrue(broker.isRunning());
            assertTrue(broker.bootstrapServers().startsWith("127.0.0.1:"));
            assertTrue(Files.isRegularFile(broker.logFile()));

            broker.createTopics("merge-requests");
            broker.createTopics("merge-requests"); // idempotent
            try (var admin = broker.admin(Duration.ofSeconds(10))) {
                assertTrue(admin.listTopics().names().get().contains("merge-requests"));
            }

            try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerConfig(broker))) {
                producer.send(new ProducerRecord<>("merge-requests", "job-1", "{\"hello\":1}")).get();
            }
            List<ConsumerRecord<String, String>> first = consume(broker, "merge-requests", "group-a", 1);
            assertEquals("job-1", first.get(0).key());
            assertEquals("{\"hello\":1}", first.get(0).value());

            long t1 = System.nanoTime();
            broker.restart();
            System.out.printf("KafkaBroker restart (stop + start): %d ms%n", (System.nanoTime() - t1) / 1_000_000);
            List<ConsumerRecord<String, String>> again = consume(broker, "merge-requests", "group-b", 1);
            assertEquals("job-1", again.get(0).key());

            // An attached handle (another class loader or JVM) sees the same process.
            KafkaBroker attached = KafkaBroker.attach(stateDir);
            assertEquals(broker.bootstrapServers(), attached.bootstrapServers());
            assertEquals(broker.process().orElseThrow().pid(), attached.process().orElseThrow().pid());

            long pid = broker.process().orElseThrow().pid();
            broker.kill();
            assertFalse(broker.isRunning());
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
            assertFalse(ChildProcess.listening(broker.port()));
        } finally {
            broker.stop();
        }
    }

    static Map<String, Object> producerConfig(KafkaBroker broker) {
        return Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    }

    @Test
    void refusesAPortInUse() throws Exception {
        try (var taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> KafkaBroker.start(stateDir.resolve("busy"), taken.getLocalPort()));
            assertTrue(e.getMessage().contains("already in use"), e.getMessage());
        }
    }

    static List<ConsumerRecord<String, String>> consume(KafkaBroker broker, String topic, String group, int count) {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config)) {
            consumer.subscribe(Set.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (records.size() < count && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
            }
        }
        assertEquals(count, records.size(), "records consumed from " + topic);
        return records;
    }
}
