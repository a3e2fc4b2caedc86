package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.FloatBits;
import dev.mergeline.core.merge.LowRankBlock;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.core.merge.ReferenceMergeKernel;
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
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeOptions;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.OutputRef;
import dev.mergeline.safetensors.DType;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusMock;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A kernel that writes wrong numbers into one block: the worker's merge fails its own verification,
 * the job ends in {@code merge.failed} with {@code VERIFICATION_FAILED}, no ready event is published
 * and no {@code MANIFEST.json} (nor any other output object) appears in S3.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class VerificationFailedTest {
    private static final String BUCKET = "mergeline";
    private static final String CASE = "llama-bf16-plain";

    @Inject
    MergeJobService service;
    @Inject
    S3Client s3;

    @Test
    void aCorruptedBlockFailsTheJobAndPublishesNothingAsReady() throws Exception {
        QuarkusMock.installMockForType(new CorruptingKernel(), MergeKernel.class);
        Path caseDir = PeftFixtures.caseDir(CASE);
        AdapterLocation location = new AdapterLocation(BUCKET, "verification-test-lora");
        String basePrefix = BaseRef.ROOT + "verification-test/" + CASE + "/";
        Map<String, String> adapterEtags = ProgressEventsTest.upload(s3, caseDir.resolve("adapter"), location.prefix());
        Map<String, String> baseEtags = ProgressEventsTest.upload(s3, caseDir.resolve("base"), basePrefix);
        adapterEtags.keySet().retainAll(List.of("adapter_config.json", "adapter_model.safetensors"));
        baseEtags.keySet().retainAll(List.of("config.json", "model.safetensors"));
        String identity = BaseIdentity.compute(baseEtags.get("config.json"),
                Map.of("model.safetensors", baseEtags.get("model.safetensors")));
        String jobId = WireMapping.jobId(adapterEtags, identity, MergeOptions.DEFAULTS);
        MergeRequested job = new MergeRequested(jobId,
                new AdapterRef(BUCKET, location.prefix(), location.id(), adapterEtags, "LORA", null, null),
                new BaseRef("verification-test/" + CASE, BUCKET, basePrefix, identity, baseEtags), MergeOptions.DEFAULTS,
                1000);

        List<MergeFailed> failed = new ArrayList<>();
        int ready = 0;
        try (KafkaConsumer<String, byte[]> failures = MergeWorkerTest.consumer("merge-failures");
                KafkaConsumer<String, byte[]> readyTopic = MergeWorkerTest.consumer("merged-model-ready")) {
            service.run(job, "verification-test");
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (failed.isEmpty() && System.nanoTime() < deadline) {
                failures.poll(Duration.ofMillis(250)).forEach(r -> {
                    CloudEvent<MergeFailed> e = EventCodec.instance().decode(r.value(), MergeFailed.class);
                    if (jobId.equals(e.data().jobId())) {
                        failed.add(e.data());
                    }
                });
            }
            for (int i = 0; i < 4; i++) {
                for (var r : readyTopic.poll(Duration.ofMillis(250))) {
                    ready += jobId.equals(r.key()) ? 1 : 0;
                }
            }
        }
        assertEquals(1, failed.size());
        assertEquals("VERIFICATION_FAILED", failed.get(0).reasons().get(0).code());
        assertTrue(failed.get(0).reasons().get(0).message().contains("above the"), failed.get(0).reasons().toString());
        assertTrue(failed.get(0).reasons().get(0).tensor().startsWith("model.layers."), failed.get(0).reasons().toString());
        assertTrue(failed.get(0).retriable());
        assertEquals(0, ready, "no ready event for a merge that failed verification");
        String outPrefix = OutputRef.prefixFor(location, jobId);
        assertEquals(0, s3.listObjectsV2(r -> r.bucket(BUCKET).prefix(outPrefix)).keyCount(), "nothing uploaded");
    }

    /** The reference kernel, except that its third low-rank block comes out with flipped exponent bits. */
    static final class CorruptingKernel implements MergeKernel {
        private final ReferenceMergeKernel delegate = new ReferenceMergeKernel();
        private int calls;

        @Override
        public String executionProvider() {
            return "corrupting";
        }

        @Override
        public synchronized void lowRank(LowRankBlock block) {
            delegate.lowRank(block);
            if (calls++ == 2) {
                for (int i = 0; i < block.elements(); i++) {
                    int bits = FloatBits.getBits(block.out(), block.outType(), i);
                    FloatBits.putBits(block.out(), block.outType(), i,
                            bits ^ (block.outType() == DType.F32 ? 0x3F800000 : 0x3F80));
                }
            }
        }

        @Override
        public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
            delegate.convert(in, from, out, to, elements);
        }

        @Override
        public void close() {}
    }
}
