package dev.mergeline.quarkus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.EngineInfo;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.events.AdapterLocation;
import dev.mergeline.events.AdapterRef;
import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventFixtures;
import dev.mergeline.events.FailureCode;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeOptions;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.Problem;
import dev.mergeline.safetensors.DType;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** The wire contract agrees with this engine: reasons, options, semantics and defaults. */
class WireMappingTest {
    private final EventCodec codec = EventCodec.instance();

    @ParameterizedTest
    @EnumSource(ReasonCode.class)
    void everyReasonRoundTripsThroughTheCodec(ReasonCode code) {
        List<Reason> reasons = List.of(
                Reason.of(code, "plain " + code.summary()),
                Reason.mismatch(code, "model.layers.0.mlp.down_proj.lora_A.weight", "with shapes", List.of(8, 8192),
                        List.of(8, 4096)),
                new Reason(code, "everything", "t", "e", "a", "HEADER_TOO_LARGE"));
        AdapterRejected data = new AdapterRejected(AdapterRef.of(new AdapterLocation("mergeline", "a")),
                WireMapping.problems(reasons));
        CloudEvent<AdapterRejected> decoded = codec.decode(codec.encode(CloudEvent.create("/test", data)),
                AdapterRejected.class);
        assertEquals(reasons, decoded.data().reasons().stream().map(p -> WireMapping.reason(p).orElseThrow()).toList());
    }

    @Test
    void rejectionFixtureHoldsThisEnginesReasons() {
        AdapterRejected d = EventFixtures.event(EventFixtures.ADAPTER_REJECTED, AdapterRejected.class).data();
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, WireMapping.reasonCode(d.reasons().get(0)).orElseThrow());
        Reason r = WireMapping.reason(d.reasons().get(1)).orElseThrow();
        assertEquals(ReasonCode.UNKNOWN_CONFIG_FIELD, r.code());
        assertEquals("use_bdlora", r.detail());
    }

    @Test
    void failureCodesAreNoReasonCodes() {
        for (FailureCode f : FailureCode.values()) {
            Problem p = Problem.of(f, f.summary());
            assertTrue(WireMapping.reasonCode(p).isEmpty(), f.name());
            assertTrue(WireMapping.reason(p).isEmpty(), f.name());
        }
        Problem stored = EventFixtures.event(EventFixtures.MERGE_FAILED, MergeFailed.class).data().reasons().get(0);
        assertTrue(WireMapping.reason(stored).isEmpty());
    }

    @Test
    void theFixturesWereMadeByThisEngine() {
        MergeRequested r = EventFixtures.event(EventFixtures.MERGE_REQUESTED, MergeRequested.class).data();
        assertEquals(r.jobId(), WireMapping.jobId(r.adapter().etags(), r.base().identity(), r.options()));
        MergedModelReady ready = EventFixtures.event(EventFixtures.MERGED_MODEL_READY, MergedModelReady.class).data();
        assertEquals(EngineInfo.VERSION, ready.engine().version());
        assertEquals(EngineInfo.MERGE_SEMANTICS, ready.engine().mergeSemantics());
    }

    @Test
    void requestOptionsBecomeTheEnginesOptions() {
        assertEquals(dev.mergeline.core.run.MergeOptions.defaults(), WireMapping.engineOptions(MergeOptions.DEFAULTS));
        assertEquals(dev.mergeline.core.run.MergeOptions.DEFAULT_SHARD_BYTES, MergeOptions.DEFAULT_MAX_SHARD_BYTES);
        var fp32 = WireMapping.engineOptions(new MergeOptions("torch.float32", 1_000_000L));
        assertEquals(Optional.of(DType.F32), fp32.outputDType());
        assertEquals(1_000_000L, fp32.maxShardBytes());
        assertEquals(dev.mergeline.core.run.MergeOptions.defaults().blockBytes(), fp32.blockBytes());
        for (String spelling : List.of("bf16", "BFloat16", "fp16", "half", "float32", "torch.bfloat16")) {
            MergeOptions options = new MergeOptions(spelling, null);
            assertEquals(DType.fromTorchName(spelling), WireMapping.engineOptions(options).outputDType(), spelling);
            assertFalse(WireMapping.engineOptions(options).outputDType().isEmpty(), spelling);
        }
    }
}
