package dev.mergeline.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class EventCodecTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final EventCodec codec = EventCodec.instance();

    static Stream<Arguments> eventFixtures() {
        return EventFixtures.EVENTS.entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
    }

    // ---- the wire format, pinned by the fixtures

    @ParameterizedTest
    @MethodSource("eventFixtures")
    void decodeThenEncodeIsJsonEqualToTheFixture(String fixture, EventType type) throws Exception {
        byte[] bytes = EventFixtures.load(fixture);
        CloudEvent<?> event = codec.decode(bytes, type.dataClass());
        assertEquals(type, event.eventType());
        assertEquals(JSON.readTree(bytes), JSON.readTree(codec.encode(event)), fixture);
    }

    @ParameterizedTest
    @MethodSource("eventFixtures")
    void decodeAnyDispatchesOnType(String fixture, EventType type) {
        CloudEvent<? extends EventData> event = codec.decodeAny(EventFixtures.load(fixture));
        assertInstanceOf(type.dataClass(), event.data());
        assertEquals(codec.decode(EventFixtures.load(fixture), type.dataClass()), event);
        assertEquals(type.topic(), event.topic());
    }

    @ParameterizedTest
    @MethodSource("eventFixtures")
    void encodedEventsDecodeToEqualRecords(String fixture, EventType type) {
        CloudEvent<?> event = codec.decode(EventFixtures.load(fixture), type.dataClass());
        assertEquals(event, codec.decode(codec.encode(event), type.dataClass()));
    }

    @ParameterizedTest
    @MethodSource("eventFixtures")
    void encodingStartsWithTheCloudEventsAttributes(String fixture, EventType type) throws Exception {
        CloudEvent<?> event = codec.decode(EventFixtures.load(fixture), type.dataClass());
        List<String> names = new ArrayList<>();
        JSON.readTree(codec.encode(event)).fieldNames().forEachRemaining(names::add);
        assertEquals(List.of("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"), names);
    }

    @Test
    void mergeRequestedFixtureFields() {
        MergeRequested d = EventFixtures.event(EventFixtures.MERGE_REQUESTED, MergeRequested.class).data();
        assertEquals(EventFixtures.JOB_ID, d.jobId());
        assertEquals(new AdapterLocation("mergeline", "llama32-1b-support-lora"), d.adapter().location());
        assertEquals("3831988b807bd021f7a7d38f3e601d03-6", d.adapter().etags().get("adapter_model.safetensors"));
        assertEquals(16, d.adapter().r());
        assertEquals(7, d.adapter().targetModules().size());
        assertEquals("meta-llama/Llama-3.2-1B", d.base().name());
        assertEquals(BaseRef.prefixFor(d.base().name()), d.base().prefix());
        assertEquals("bf16", d.options().dtype());
        assertEquals(MergeOptions.DEFAULTS.effectiveMaxShardBytes(), d.options().effectiveMaxShardBytes());
        assertEquals(43817, d.validationBytesRead());
    }

    @Test
    void mergedModelReadyFixtureFields() {
        CloudEvent<MergedModelReady> e = EventFixtures.event(EventFixtures.MERGED_MODEL_READY, MergedModelReady.class);
        MergedModelReady d = e.data();
        assertEquals(Instant.parse("2026-03-14T09:25:06.402Z"), e.time());
        assertEquals(e.subject(), e.key());
        assertEquals(OutputRef.prefixFor(d.adapter().location(), d.jobId()), d.output().prefix());
        assertEquals(6, d.output().files().size(), "every object but MANIFEST.json itself");
        assertEquals(2471645608L, d.output().files().get(0).bytes());
        assertTrue(d.output().files().stream().allMatch(f -> f.key().startsWith(d.output().prefix())));
        assertEquals(146, d.counts().total());
        assertEquals(List.of("downloadMs", "mergeMs", "uploadMs", "totalMs"), List.copyOf(d.timingsMs().keySet()));
        assertEquals("ok", d.verification().status());
        assertEquals(d.counts().merged(), d.verification().tensors());
        assertEquals(new EngineRef("0.1.0", JobIdTest.SEMANTICS, "CUDA"), d.engine());
        assertFalse(d.reemitted());
        assertTrue(d.asReemitted().reemitted());
    }

    @Test
    void rejectionFixtureHoldsValidationReasons() {
        AdapterRejected d = EventFixtures.event(EventFixtures.ADAPTER_REJECTED, AdapterRejected.class).data();
        assertEquals("TENSOR_SHAPE_MISMATCH", d.reasons().get(0).code());
        assertEquals("UNKNOWN_CONFIG_FIELD", d.reasons().get(1).code());
        assertEquals("use_bdlora", d.reasons().get(1).detail());
    }

    @Test
    void failureFixtureHoldsAFailureCode() {
        CloudEvent<MergeFailed> e = EventFixtures.event(EventFixtures.MERGE_FAILED, MergeFailed.class);
        assertEquals(Topics.MERGE_FAILURES, e.topic());
        Problem p = e.data().reasons().get(0);
        assertEquals(FailureCode.STORAGE_UNAVAILABLE, p.failureCode().orElseThrow());
        assertTrue(e.data().retriable());
        assertEquals(3, e.data().attempts());
    }

    // ---- type and envelope checks

    @Test
    void wrongTypeIsRejected() {
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> codec.decode(EventFixtures.load(EventFixtures.MERGE_FAILED), MergeRequested.class));
        assertEquals("type", e.field());
        assertEquals("dev.mergeline.merge.failed", e.value());
        assertTrue(e.getMessage().contains("dev.mergeline.merge.requested"), e.getMessage());
    }

    @Test
    void twoTypesOnOneTopicAreTold() {
        // adapter.rejected and merge.failed share merge-failures: each decodes only as itself.
        assertThrows(EventFormatException.class,
                () -> codec.decode(EventFixtures.load(EventFixtures.ADAPTER_REJECTED), MergeFailed.class));
        assertThrows(EventFormatException.class,
                () -> codec.decode(EventFixtures.load(EventFixtures.MERGE_FAILED), AdapterRejected.class));
    }

    @Test
    void unknownTypeIsRejectedByDecodeAny() {
        byte[] json = edit(EventFixtures.MERGE_PROGRESS, r -> r.put("type", "dev.mergeline.merge.paused"));
        EventFormatException e = assertThrows(EventFormatException.class, () -> codec.decodeAny(json));
        assertEquals("type", e.field());
        assertEquals("dev.mergeline.merge.paused", e.value());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0.3", "1", "1.0.0", ""})
    void wrongSpecVersionIsRejected(String version) {
        byte[] json = edit(EventFixtures.MERGE_PROGRESS, r -> r.put("specversion", version));
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> codec.decode(json, MergeProgress.class));
        assertEquals("specversion", e.field());
    }

    @ParameterizedTest
    @ValueSource(strings = {"specversion", "id", "source", "type", "subject", "time", "data"})
    void missingEnvelopeAttributeIsNamed(String attribute) {
        byte[] json = edit(EventFixtures.MERGE_REQUESTED, r -> r.remove(attribute));
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> codec.decode(json, MergeRequested.class));
        assertEquals(attribute, e.field());
        assertTrue(e.getMessage().startsWith(attribute + ": required field is missing"), e.getMessage());
    }

    @Test
    void nonStringAttributeIsRejected() {
        byte[] json = edit(EventFixtures.MERGE_PROGRESS, r -> r.put("id", 42));
        EventFormatException e = assertThrows(EventFormatException.class, () -> codec.decode(json, MergeProgress.class));
        assertEquals("id", e.field());
        assertEquals("42", e.value());
    }

    @Test
    void timeMustBeRfc3339AndOffsetsAreNormalizedToUtc() {
        byte[] bad = edit(EventFixtures.MERGE_PROGRESS, r -> r.put("time", "14/03/2026 09:24"));
        EventFormatException e = assertThrows(EventFormatException.class, () -> codec.decode(bad, MergeProgress.class));
        assertEquals("time", e.field());
        assertEquals("14/03/2026 09:24", e.value());

        byte[] offset = edit(EventFixtures.MERGE_PROGRESS, r -> r.put("time", "2026-03-14T10:24:41.563+01:00"));
        CloudEvent<MergeProgress> event = codec.decode(offset, MergeProgress.class);
        assertEquals(Instant.parse("2026-03-14T09:24:41.563Z"), event.time());
        assertTrue(new String(codec.encode(event), StandardCharsets.UTF_8).contains("\"2026-03-14T09:24:41.563Z\""));
    }

    @Test
    void dataContentTypeMustBeJsonWhenPresent() {
        byte[] xml = edit(EventFixtures.MERGE_PROGRESS, r -> r.put("datacontenttype", "application/xml"));
        EventFormatException e = assertThrows(EventFormatException.class, () -> codec.decode(xml, MergeProgress.class));
        assertEquals("datacontenttype", e.field());
        MergeProgress expected = codec.decode(edit(EventFixtures.MERGE_PROGRESS, r -> { }), MergeProgress.class).data();
        assertEquals(expected, codec.decode(edit(EventFixtures.MERGE_PROGRESS, r -> r.remove("datacontenttype")),
                MergeProgress.class).data());
        assertEquals(expected, codec.decode(edit(EventFixtures.MERGE_PROGRESS,
                r -> r.put("datacontenttype", "application/json; charset=utf-8")), MergeProgress.class).data());
    }

    @Test
    void binaryDataIsRefused() {
        byte[] json = edit(EventFixtures.MERGE_PROGRESS, r -> {
            r.remove("data");
            r.put("data_base64", "e30=");
        });
        EventFormatException e = assertThrows(EventFormatException.class, () -> codec.decode(json, MergeProgress.class));
        assertEquals("data_base64", e.field());
    }

    @Test
    void malformedJsonIsAnEventFormatException() {
        for (String s : List.of("", "{", "[]", "\"text\"", "{\"specversion\":\"1.0\"} trailing", "not json")) {
            assertThrows(EventFormatException.class,
                    () -> codec.decode(s.getBytes(StandardCharsets.UTF_8), MergeProgress.class), s);
        }
    }

    @Test
    void duplicateKeysAreRejected() {
        String json = EventFixtures.text(EventFixtures.MERGE_PROGRESS)
                .replace("\"tensorsDone\": 73,", "\"tensorsDone\": 73, \"tensorsDone\": 146,");
        assertThrows(EventFormatException.class,
                () -> codec.decode(json.getBytes(StandardCharsets.UTF_8), MergeProgress.class));
    }

    // ---- data: required fields, types, forward compatibility

    static Stream<Arguments> missingDataFields() {
        return Stream.of(
                Arguments.of(EventFixtures.MERGE_REQUESTED, "jobId"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "adapter.bucket"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "adapter.prefix"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "adapter.id"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "adapter.etags"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "base"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "base.identity"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "base.etags"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "validationBytesRead"),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "output"),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "output.files"),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "output.files[1].sha256"),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "output.files[0].bytes"),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "counts.copied"),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "engine.executionProvider"),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "reemitted"),
                Arguments.of(EventFixtures.ADAPTER_REJECTED, "reasons"),
                Arguments.of(EventFixtures.ADAPTER_REJECTED, "reasons[1].code"),
                Arguments.of(EventFixtures.ADAPTER_REJECTED, "reasons[0].message"),
                Arguments.of(EventFixtures.MERGE_FAILED, "retriable"),
                Arguments.of(EventFixtures.MERGE_FAILED, "attempts"),
                Arguments.of(EventFixtures.MERGE_FAILED, "adapter"),
                Arguments.of(EventFixtures.MERGE_PROGRESS, "tensorsTotal"),
                Arguments.of(EventFixtures.MERGE_PROGRESS, "bytesDone"));
    }

    @ParameterizedTest
    @MethodSource("missingDataFields")
    void missingRequiredDataFieldIsNamed(String fixture, String path) {
        byte[] json = edit(fixture, r -> remove((ObjectNode) r.get("data"), path));
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> codec.decode(json, EventFixtures.EVENTS.get(fixture).dataClass()));
        assertEquals("data." + path, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith("data." + path + ": required field is missing"), e.getMessage());
    }

    @Test
    void explicitNullIsMissing() {
        byte[] json = edit(EventFixtures.MERGE_PROGRESS, r -> ((ObjectNode) r.get("data")).putNull("bytesTotal"));
        EventFormatException e = assertThrows(EventFormatException.class, () -> codec.decode(json, MergeProgress.class));
        assertTrue(e.field().startsWith("data.bytesTotal"), e.getMessage());

        byte[] json2 = edit(EventFixtures.MERGE_REQUESTED,
                r -> ((ObjectNode) r.get("data").get("adapter")).putNull("bucket"));
        e = assertThrows(EventFormatException.class, () -> codec.decode(json2, MergeRequested.class));
        assertEquals("data.adapter.bucket", e.field());
    }

    @Test
    void optionalFieldsMayBeAbsent() {
        byte[] json = edit(EventFixtures.MERGED_MODEL_READY, r -> {
            ObjectNode data = (ObjectNode) r.get("data");
            data.remove("timingsMs");
            ObjectNode adapter = (ObjectNode) data.get("adapter");
            adapter.remove("peftType");
            adapter.remove("r");
            adapter.remove("targetModules");
        });
        MergedModelReady d = codec.decode(json, MergedModelReady.class).data();
        assertEquals(null, d.timingsMs());
        assertEquals(null, d.adapter().r());
    }

    @Test
    void absentOptionsMeanDefaults() {
        byte[] json = edit(EventFixtures.MERGE_REQUESTED, r -> ((ObjectNode) r.get("data")).remove("options"));
        assertEquals(MergeOptions.DEFAULTS, codec.decode(json, MergeRequested.class).data().options());
    }

    @Test
    void unknownFieldsAreIgnored() {
        byte[] json = edit(EventFixtures.MERGED_MODEL_READY, r -> {
            r.put("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
            ObjectNode data = (ObjectNode) r.get("data");
            data.put("futureField", "x");
            ((ObjectNode) data.get("output")).putObject("signature").put("alg", "ed25519");
            ((ObjectNode) data.get("output").get("files").get(0)).put("contentType", "application/octet-stream");
            ((ObjectNode) data.get("counts")).put("skipped", 0);
        });
        assertEquals(EventFixtures.event(EventFixtures.MERGED_MODEL_READY, MergedModelReady.class),
                codec.decode(json, MergedModelReady.class));
    }

    static Stream<Arguments> invalidDataValues() {
        return Stream.of(
                Arguments.of(EventFixtures.MERGE_REQUESTED, "jobId", "B87A32D9BAC55278B61E8918C916E314"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "jobId", "b87a32d9"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "adapter.prefix", "adapters/other/"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "adapter.id", "../base-models"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "adapter.bucket", "Not_A_Bucket"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "adapter.r", 0),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "adapter.r", "16"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "base.identity", "sha256:5fec"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "base.name", "../../etc"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "options.dtype", "int8"),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "options.maxShardBytes", -1),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "validationBytesRead", -5),
                Arguments.of(EventFixtures.MERGE_REQUESTED, "validationBytesRead", 1.5),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "output.files[0].bytes", "large"),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "output.files[0].sha256", "5C23BB"),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "counts.merged", -1),
                Arguments.of(EventFixtures.MERGED_MODEL_READY, "reemitted", "yes"),
                Arguments.of(EventFixtures.ADAPTER_REJECTED, "reasons[0].code", "tensor shape mismatch"),
                Arguments.of(EventFixtures.MERGE_PROGRESS, "tensorsDone", 147));
    }

    @ParameterizedTest
    @MethodSource("invalidDataValues")
    void invalidDataValueIsNamedWithItsValue(String fixture, String path, Object value) {
        byte[] json = edit(fixture, r -> set((ObjectNode) r.get("data"), path, JSON.valueToTree(value)));
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> codec.decode(json, EventFixtures.EVENTS.get(fixture).dataClass()));
        assertEquals("data." + path, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(String.valueOf(value)), e.getMessage());
    }

    @Test
    void emptyReasonsAreRejected() {
        byte[] json = edit(EventFixtures.ADAPTER_REJECTED, r -> ((ObjectNode) r.get("data")).putArray("reasons"));
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> codec.decode(json, AdapterRejected.class));
        assertEquals("data.reasons", e.field());
    }

    @Test
    void controlCharactersInValuesAreEscapedInMessages() {
        EventFormatException e = EventFormatException.invalid("key", "a\nINFO forged", "bad");
        assertFalse(e.getMessage().contains("\n"));
        assertTrue(e.getMessage().contains("a\\u000aINFO forged"), e.getMessage());
    }

    // ---- encoding: nulls omitted, codes round trip

    /** An FP8 output names its quantization in the ready event; a plain one omits the field. */
    @Test
    void readyEventStatesAQuantizedOutputFormat() throws Exception {
        CloudEvent<MergedModelReady> e = EventFixtures.event(EventFixtures.MERGED_MODEL_READY, MergedModelReady.class);
        assertEquals(null, e.data().output().quantization());
        assertFalse(names(JSON.readTree(codec.encode(e)).at("/data/output")).contains("quantization"));
        OutputRef plain = e.data().output();
        OutputRef fp8 = new OutputRef(plain.bucket(), plain.prefix(), plain.format(), plain.dtype(), "fp8", plain.files());
        MergedModelReady d = e.data();
        CloudEvent<MergedModelReady> quantized = CloudEvent.create("/test", new MergedModelReady(d.jobId(), d.adapter(),
                d.base(), fp8, d.counts(), d.timingsMs(), d.engine(), d.reemitted(), d.verification()));
        JsonNode output = JSON.readTree(codec.encode(quantized)).at("/data/output");
        assertEquals("fp8", output.path("quantization").asText());
        assertEquals("fp8", codec.decode(codec.encode(quantized), MergedModelReady.class).data().output().quantization());
    }

    @Test
    void nullsAreOmitted() throws Exception {
        AdapterRef adapter = AdapterRef.of(new AdapterLocation("mergeline", "a1"));
        CloudEvent<AdapterRejected> event = CloudEvent.create("/test",
                new AdapterRejected(adapter, List.of(new Problem("ADAPTER_FILES_MISSING",
                        "adapter_model.safetensors is missing", null, null, null, null))));
        JsonNode data = JSON.readTree(codec.encode(event)).get("data");
        assertEquals(List.of("bucket", "prefix", "id"), names(data.get("adapter")));
        assertEquals(List.of("code", "message"), names(data.get("reasons").get(0)));
    }

    @ParameterizedTest
    @EnumSource(FailureCode.class)
    void everyFailureCodeRoundTrips(FailureCode code) {
        Problem p = Problem.of(code, code.summary()).withDetail("x").withTensor("model.safetensors");
        MergeFailed data = new MergeFailed(EventFixtures.JOB_ID,
                AdapterRef.of(new AdapterLocation("mergeline", "a")), List.of(p), code.retriable(), 1);
        MergeFailed decoded = codec.decode(codec.encode(CloudEvent.create("/test", data)), MergeFailed.class).data();
        assertEquals(data, decoded);
        assertEquals(code, decoded.reasons().get(0).failureCode().orElseThrow());
    }

    @Test
    void codesFromLaterVersionsStillDecode() {
        byte[] json = edit(EventFixtures.MERGE_FAILED,
                r -> set((ObjectNode) r.get("data"), "reasons[0].code", JSON.valueToTree("QUOTA_EXCEEDED")));
        Problem p = codec.decode(json, MergeFailed.class).data().reasons().get(0);
        assertEquals("QUOTA_EXCEEDED", p.code());
        assertTrue(p.failureCode().isEmpty());
    }

    // ---- CloudEvent construction

    @Test
    void createFillsIdTypeSubjectAndTime() {
        MergeProgress p = EventFixtures.event(EventFixtures.MERGE_PROGRESS, MergeProgress.class).data();
        CloudEvent<MergeProgress> e = CloudEvent.create("/mergeline/merge-worker", p);
        assertEquals(EventType.MERGE_PROGRESS.type(), e.type());
        assertEquals(EventFixtures.JOB_ID, e.subject());
        assertEquals(4, UUID.fromString(e.id()).version(), e.id());
        assertEquals(e.id(), UUID.fromString(e.id()).toString(), "the id is a UUID in canonical form");
        assertFalse(e.id().equals(CloudEvent.create("/mergeline/merge-worker", p).id()), "every event has its own id");
        assertEquals(0, e.time().getNano() % 1_000_000);

        AdapterRejected r = EventFixtures.event(EventFixtures.ADAPTER_REJECTED, AdapterRejected.class).data();
        assertEquals("llama31-8b-chat-lora-r64", CloudEvent.create("/mergeline/functions", r).subject());
    }

    @Test
    void constructorRefusesMismatchedTypeAndData() {
        MergeProgress p = EventFixtures.event(EventFixtures.MERGE_PROGRESS, MergeProgress.class).data();
        assertThrows(EventFormatException.class, () -> new CloudEvent<>("id", "/s",
                EventType.MERGE_FAILED.type(), "sub", Instant.now(), p));
        assertThrows(EventFormatException.class, () -> new CloudEvent<>("id", "/s",
                "dev.mergeline.unknown", "sub", Instant.now(), p));
        assertThrows(EventFormatException.class, () -> new CloudEvent<>("id", "not a uri",
                EventType.MERGE_PROGRESS.type(), "sub", Instant.now(), p));
    }

    @Test
    void typesAndTopicsMatchTheContract() {
        assertEquals("merge-requests", EventType.MERGE_REQUESTED.topic());
        assertEquals("merged-model-ready", EventType.MERGED_MODEL_READY.topic());
        assertEquals("merge-failures", EventType.ADAPTER_REJECTED.topic());
        assertEquals("merge-failures", EventType.MERGE_FAILED.topic());
        assertEquals("merge-progress", EventType.MERGE_PROGRESS.topic());
        assertEquals("adapter-uploads", Topics.ADAPTER_UPLOADS);
        assertEquals("dev.mergeline.merged-model.ready", EventType.MERGED_MODEL_READY.type());
        for (EventType t : EventType.values()) {
            assertEquals(t, EventType.fromType(t.type()).orElseThrow());
            assertEquals(t, EventType.forDataClass(t.dataClass()));
            assertTrue(Topics.all().contains(t.topic()));
        }
    }

    @Test
    void mergeOptionsNormalizeDtypeSpellings() {
        for (String s : List.of("bf16", "BF16", "bfloat16", "torch.bfloat16")) {
            assertEquals("bf16", new MergeOptions(s, null).dtype());
        }
        assertEquals("fp16", new MergeOptions("float16", null).dtype());
        assertEquals("fp32", new MergeOptions("FP32", null).dtype());
        assertThrows(EventFormatException.class, () -> new MergeOptions("fp64", null));
        assertEquals(5_000_000_000L, MergeOptions.DEFAULTS.effectiveMaxShardBytes());
    }

    // ---- helpers

    private static byte[] edit(String fixture, Consumer<ObjectNode> change) {
        try {
            ObjectNode root = (ObjectNode) JSON.readTree(EventFixtures.load(fixture));
            change.accept(root);
            return JSON.writeValueAsBytes(root);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Parent node and last step of a path like {@code output.files[1].sha256}. */
    private static void remove(ObjectNode data, String path) {
        Map.Entry<JsonNode, String> at = walk(data, path);
        if (at.getValue().matches("\\d+")) {
            ((ArrayNode) at.getKey()).remove(Integer.parseInt(at.getValue()));
        } else {
            ((ObjectNode) at.getKey()).remove(at.getValue());
        }
    }

    private static void set(ObjectNode data, String path, JsonNode value) {
        Map.Entry<JsonNode, String> at = walk(data, path);
        if (at.getValue().matches("\\d+")) {
            ((ArrayNode) at.getKey()).set(Integer.parseInt(at.getValue()), value);
        } else {
            ((ObjectNode) at.getKey()).set(at.getValue(), value);
        }
    }

    private static Map.Entry<JsonNode, String> walk(ObjectNode data, String path) {
        String[] steps = path.replace("[", ".").replace("]", "").split("\\.");
        JsonNode node = data;
        for (int i = 0; i < steps.length - 1; i++) {
            node = steps[i].matches("\\d+") ? node.get(Integer.parseInt(steps[i])) : node.get(steps[i]);
        }
        return Map.entry(node, steps[steps.length - 1]);
    }

    private static List<String> names(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
