package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.AdapterLocation;
import dev.mergeline.events.AdapterRef;
import dev.mergeline.events.BaseIdentity;
import dev.mergeline.events.BaseRef;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.quarkus.WireMapping;
import dev.mergeline.events.MergeOptions;
import dev.mergeline.events.MergeProgress;
import dev.mergeline.events.MergeProgress.Phase;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.OutputFile;
import dev.mergeline.s3.ObjectInfo;
import dev.mergeline.s3.S3Objects;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real job through the worker (request on Kafka, inputs in S3Mock, ONNX Runtime merge), followed on
 * {@code merge-progress} by a plain Kafka consumer: the progress events of the job come keyed by its
 * id, phase by phase in order, with bytes that never decrease, end every phase at totals equal to the
 * job's real sizes (input objects, output tensor data, output objects) and are all published before
 * the job's {@code merged-model.ready} event. The interval is 0 here, so that every chunk, block and
 * tensor publishes and the order within a phase is tested on many events (the 2 s throttle is
 * {@link JobProgressTest}'s).
 */
@QuarkusTest
@TestProfile(ProgressEventsTest.EveryUpdate.class)
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class ProgressEventsTest {
    private static final String BUCKET = "mergeline";
    private static final String CASE = "llama-bf16-plain";

    public static class EveryUpdate implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("mergeline.worker.progress-interval", "0s");
        }
    }

    @Inject
    S3Client s3;
    @Inject
    S3Objects objects;

    @Test
    void progressOfAJobArrivesPhaseByPhaseBeforeItsReadyEvent() throws Exception {
        Path caseDir = PeftFixtures.caseDir(CASE);
        AdapterLocation location = new AdapterLocation(BUCKET, "progress-test-lora");
        String basePrefix = BaseRef.ROOT + "progress-test/" + CASE + "/";
        Map<String, String> adapterEtags = upload(s3, caseDir.resolve("adapter"), location.prefix());
        Map<String, String> baseEtags = upload(s3, caseDir.resolve("base"), basePrefix);
        long inputBytes = sizes(location.prefix()) + sizes(basePrefix);
        String identity = BaseIdentity.compute(baseEtags.get("config.json"),
                Map.of("model.safetensors", baseEtags.get("model.safetensors")));
        Map<String, String> pinnedAdapter = new TreeMap<>(adapterEtags);
        pinnedAdapter.keySet().retainAll(List.of("adapter_config.json", "adapter_model.safetensors"));
        Map<String, String> pinnedBase = new TreeMap<>(baseEtags);
        pinnedBase.keySet().retainAll(List.of("config.json", "model.safetensors"));
        String jobId = WireMapping.jobId(pinnedAdapter, identity, MergeOptions.DEFAULTS);
        MergeRequested job = new MergeRequested(jobId,
                new AdapterRef(BUCKET, location.prefix(), location.id(), pinnedAdapter, "LORA", null, null),
                new BaseRef("progress-test/" + CASE, BUCKET, basePrefix, identity, pinnedBase), MergeOptions.DEFAULTS,
                1000);

        List<ConsumerRecord<String, byte[]>> progress = new ArrayList<>();
        ConsumerRecord<String, byte[]> ready = null;
        try (KafkaConsumer<String, byte[]> progressTopic = MergeWorkerTest.consumer("merge-progress");
                KafkaConsumer<String, byte[]> readyTopic = MergeWorkerTest.consumer("merged-model-ready");
                KafkaProducer<String, byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>("merge-requests", jobId,
                    EventCodec.instance().encode(CloudEvent.create("/mergeline/functions", job)))).get();
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (ready == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : readyTopic.poll(Duration.ofMillis(200))) {
                    if (jobId.equals(r.key())) {
                        ready = r;
                    }
                }
                progressTopic.poll(Duration.ofMillis(50)).forEach(r -> {
                    if (jobId.equals(r.key())) {
                        progress.add(r);
                    }
                });
            }
            assertTrue(ready != null, "no ready event within 120 s");
            // Whatever the worker published before the ready event is in the topic by now.
            for (int idle = 0; idle < 4; ) {
                var records = progressTopic.poll(Duration.ofMillis(500));
                idle = records.isEmpty() ? idle + 1 : 0;
                records.forEach(r -> {
                    if (jobId.equals(r.key())) {
                        progress.add(r);
                    }
                });
            }
        }
        MergedModelReady done = EventCodec.instance().decode(ready.value(), MergedModelReady.class).data();
        assertFalse(done.reemitted());
        assertEquals("ok", done.verification().status());
        assertEquals(done.counts().merged(), done.verification().tensors(), "every merged tensor verified");

        List<MergeProgress> events = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : progress) {
            CloudEvent<MergeProgress> e = EventCodec.instance().decode(r.value(), MergeProgress.class);
            assertEquals(jobId, e.subject());
            assertTrue(r.timestamp() <= ready.timestamp(), "progress after the ready event: " + e.data());
            events.add(e.data());
        }
        assertTrue(events.size() > 6, "updates within the phases too: " + events.size());
        assertEquals(List.of(Phase.DOWNLOAD, Phase.MERGE, Phase.UPLOAD),
                events.stream().map(MergeProgress::phase).distinct().toList());
        MergeProgress previous = null;
        for (MergeProgress p : events) {
            assertEquals(jobId, p.jobId());
            assertEquals(location.id(), p.adapter().id());
            assertNull(p.adapter().etags());
            if (previous != null) {
                assertTrue(p.phase().ordinal() >= previous.phase().ordinal(), previous + " then " + p);
                assertTrue(p.elapsedMs() >= previous.elapsedMs(), previous + " then " + p);
                if (p.phase() == previous.phase()) {
                    assertTrue(p.bytesDone() >= previous.bytesDone(), previous + " then " + p);
                    assertEquals(previous.bytesTotal(), p.bytesTotal());
                    if (p.phase() == Phase.MERGE) {
                        assertTrue(p.tensorsDone() >= previous.tensorsDone(), previous + " then " + p);
                    }
                } else {
                    assertTrue(previous.phaseComplete(), "a phase ended below 100 %: " + previous);
                    assertEquals(0, p.bytesDone(), "a phase starts at 0: " + p);
                }
            }
            previous = p;
        }

        MergeProgress download = last(events, Phase.DOWNLOAD);
        MergeProgress merge = last(events, Phase.MERGE);
        MergeProgress upload = last(events, Phase.UPLOAD);
        assertEquals(inputBytes, download.bytesTotal());
        assertEquals(done.counts().total(), merge.tensorsTotal());
        long tensorData = 0;
        for (OutputFile f : done.output().files()) {
            if (f.key().endsWith(".safetensors")) {
                tensorData += f.bytes() - dataStart(f.key());
            }
        }
        assertEquals(tensorData, merge.bytesTotal());
        assertEquals(sizes(done.output().prefix()), upload.bytesTotal());
        for (MergeProgress p : List.of(download, merge, upload)) {
            assertTrue(p.phaseComplete(), p.toString());
        }
    }

    private static MergeProgress last(List<MergeProgress> events, Phase phase) {
        return events.stream().filter(p -> p.phase() == phase).reduce((a, b) -> b).orElseThrow();
    }

    /** 8 + the header length a safetensors object starts with. */
    private long dataStart(String key) throws Exception {
        return 8 + ByteBuffer.wrap(objects.getRange(BUCKET, key, 0, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Bytes of the objects directly under {@code prefix}. */
    private long sizes(String prefix) throws Exception {
        return objects.list(BUCKET, prefix).stream().filter(o -> !o.key().substring(prefix.length()).contains("/"))
                .mapToLong(ObjectInfo::size).sum();
    }

    /** Every file of {@code dir} under {@code prefix}; returns file name → ETag. */
    /** Puts every file of {@code dir} under {@code prefix} in the bucket; returns the ETags by file name. */
    static Map<String, String> upload(S3Client s3, Path dir, String prefix) throws Exception {
        Map<String, String> etags = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String name = f.getFileName().toString();
                String etag = s3.putObject(r -> r.bucket(BUCKET).key(prefix + name), RequestBody.fromFile(f)).eTag();
                etags.put(name, etag.replace("\"", ""));
            }
        }
        return etags;
    }

    private static KafkaProducer<String, byte[]> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaTestResource.broker().bootstrapServers());
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }
}
