package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.AdapterRef;
import dev.mergeline.events.BaseRef;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventFixtures;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.Problem;
import dev.mergeline.s3.S3Objects;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The worker applies {@code mergeline.limits.*} itself, before downloading: an adapter whose weights
 * are above {@code max-adapter-bytes} (configured lower here than where it was validated) ends in
 * {@code merge.failed} with {@code INPUT_TOO_LARGE}, and not one byte of any input is downloaded.
 */
@QuarkusTest
@TestProfile(WorkerLimitsTest.SmallAdapterLimit.class)
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class WorkerLimitsTest {
    static final long MAX_ADAPTER_BYTES = 1024;

    public static class SmallAdapterLimit implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("mergeline.limits.max-adapter-bytes", Long.toString(MAX_ADAPTER_BYTES));
        }
    }

    @Inject
    MergeJobService service;
    @Inject
    S3Client s3;
    @Inject
    S3Objects s3Objects;

    @Test
    void anAdapterAboveTheLimitFailsBeforeAnythingIsDownloaded() throws Exception {
        MergeRequested fixture = EventCodec.instance()
                .decode(EventFixtures.load(EventFixtures.MERGE_REQUESTED), MergeRequested.class).data();
        // The fixture's inputs, uploaded: weights one byte above the limit, the rest a few bytes each.
        Map<String, String> adapterEtags = upload(fixture.adapter().prefix(), fixture.adapter().etags().keySet(),
                Map.of("adapter_model.safetensors", (int) MAX_ADAPTER_BYTES + 1));
        Map<String, String> baseEtags = upload(fixture.base().prefix(), fixture.base().etags().keySet(), Map.of());
        AdapterRef a = fixture.adapter();
        BaseRef b = fixture.base();
        MergeRequested job = new MergeRequested(fixture.jobId(),
                new AdapterRef(a.bucket(), a.prefix(), a.id(), adapterEtags, a.peftType(), a.r(), a.targetModules()),
                new BaseRef(b.name(), b.bucket(), b.prefix(), b.identity(), baseEtags), fixture.options(),
                fixture.validationBytesRead());

        long readBefore = s3Objects.bytesRead();
        try (KafkaConsumer<String, byte[]> failures = MergeWorkerTest.consumer("merge-failures")) {
            service.run(job, "worker-limits-test");
            List<CloudEvent<MergeFailed>> events = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (events.isEmpty() && System.nanoTime() < deadline) {
                failures.poll(Duration.ofMillis(250)).forEach(
                        r -> events.add(EventCodec.instance().decode(r.value(), MergeFailed.class)));
            }
            assertEquals(1, events.size());
            MergeFailed failed = events.get(0).data();
            assertEquals(job.jobId(), failed.jobId());
            assertFalse(failed.retriable());
            Problem p = failed.reasons().get(0);
            assertEquals("INPUT_TOO_LARGE", p.code());
            assertEquals("ADAPTER_BYTES", p.detail());
            assertEquals(a.prefix() + "adapter_model.safetensors", p.tensor());
            assertEquals((MAX_ADAPTER_BYTES + 1) + " bytes", p.actual());
        }
        assertEquals(readBefore, s3Objects.bytesRead(), "bytes downloaded");
    }

    /** Puts one object per name under {@code prefix} (size from {@code sizes}, else 16 bytes); returns the ETags. */
    private Map<String, String> upload(String prefix, Iterable<String> names, Map<String, Integer> sizes) {
        Map<String, String> etags = new TreeMap<>();
        for (String name : names) {
            String etag = s3.putObject(r -> r.bucket("mergeline").key(prefix + name),
                    RequestBody.fromBytes(new byte[sizes.getOrDefault(name, 16)])).eTag();
            etags.put(name, etag.replace("\"", ""));
        }
        return etags;
    }
}
