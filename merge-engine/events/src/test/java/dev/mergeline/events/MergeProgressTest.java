package dev.mergeline.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.events.MergeProgress.Phase;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The {@code merge.progress} payload: its fixture, the rules of its fields, strict decoding. */
class MergeProgressTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final EventCodec codec = EventCodec.instance();

    @Test
    void fixtureFields() {
        CloudEvent<MergeProgress> e = EventFixtures.event(EventFixtures.MERGE_PROGRESS, MergeProgress.class);
        MergeProgress p = e.data();
        assertEquals(EventFixtures.JOB_ID, e.subject());
        assertEquals(EventFixtures.JOB_ID, p.jobId());
        assertEquals(EventFixtures.ADAPTER_ID, p.adapter().id());
        assertNull(p.adapter().etags());
        assertEquals(Phase.MERGE, p.phase());
        assertEquals(1147207680L, p.bytesDone());
        assertEquals(2471628800L, p.bytesTotal());
        assertEquals(73, p.tensorsDone());
        assertEquals(146, p.tensorsTotal());
        assertEquals(26541L, p.elapsedMs());
        assertFalse(p.phaseComplete());
    }

    @Test
    void phasesAreWrittenInLowerCase() throws Exception {
        AdapterRef adapter = AdapterRef.of(new AdapterLocation(EventFixtures.BUCKET, EventFixtures.ADAPTER_ID));
        for (Phase phase : Phase.values()) {
            MergeProgress p = phase == Phase.MERGE
                    ? new MergeProgress(EventFixtures.JOB_ID, adapter, phase, 5, 5, 2, 2, 10)
                    : MergeProgress.transfer(EventFixtures.JOB_ID, adapter, phase, 5, 5, 10);
            JsonNode data = JSON.readTree(codec.encode(CloudEvent.create("/mergeline/merge-worker", p))).get("data");
            assertEquals(phase.wireName(), data.get("phase").asText());
            assertEquals(phase != Phase.MERGE, data.get("tensorsDone") == null, data::toString);
            assertTrue(p.phaseComplete());
            assertEquals(p, codec.decode(codec.encode(CloudEvent.create("/mergeline/merge-worker", p)),
                    MergeProgress.class).data());
        }
    }

    @Test
    void transferPhasesCarryNoTensorCounts() {
        byte[] json = edit(data -> {
            data.put("phase", "download");
            data.remove("tensorsDone");
            data.remove("tensorsTotal");
        });
        MergeProgress p = codec.decode(json, MergeProgress.class).data();
        assertEquals(Phase.DOWNLOAD, p.phase());
        assertNull(p.tensorsDone());
        assertNull(p.tensorsTotal());
    }

    static Stream<Arguments> missing() {
        return Stream.of(
                Arguments.of("jobId"), Arguments.of("adapter"), Arguments.of("adapter.id"), Arguments.of("phase"),
                Arguments.of("bytesDone"), Arguments.of("bytesTotal"), Arguments.of("tensorsDone"),
                Arguments.of("tensorsTotal"), Arguments.of("elapsedMs"));
    }

    @ParameterizedTest
    @MethodSource("missing")
    void missingFieldIsNamed(String path) {
        byte[] json = edit(data -> {
            int dot = path.indexOf('.');
            if (dot < 0) {
                data.remove(path);
            } else {
                ((ObjectNode) data.get(path.substring(0, dot))).remove(path.substring(dot + 1));
            }
        });
        EventFormatException e = assertThrows(EventFormatException.class, () -> codec.decode(json, MergeProgress.class));
        assertEquals("data." + path, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains("required field is missing"), e.getMessage());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("phase", "verify", "one of download, merge, upload"),
                Arguments.of("phase", "MERGE", "one of download, merge, upload"),
                Arguments.of("phase", 1, "one of download, merge, upload"),
                Arguments.of("bytesDone", 2471628801L, "exceeds bytesTotal"),
                Arguments.of("bytesDone", -1, "must not be negative"),
                Arguments.of("bytesTotal", "2471628800", "expected an integer"),
                Arguments.of("tensorsDone", 147, "exceeds tensorsTotal"),
                Arguments.of("tensorsTotal", 1.5, "expected an integer"),
                Arguments.of("elapsedMs", -3, "must not be negative"),
                Arguments.of("jobId", "b87a32d9", "job id"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void invalidValueIsNamed(String field, Object value, String problem) {
        byte[] json = edit(data -> data.set(field, JSON.valueToTree(value)));
        EventFormatException e = assertThrows(EventFormatException.class, () -> codec.decode(json, MergeProgress.class));
        assertEquals("data." + field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"download", "upload"})
    void tensorCountsComeInPairs(String phase) {
        byte[] onlyDone = edit(data -> {
            data.put("phase", phase);
            data.remove("tensorsTotal");
        });
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> codec.decode(onlyDone, MergeProgress.class));
        assertEquals("data.tensorsTotal", e.field(), e.getMessage());
    }

    @Test
    void unknownFieldsAreIgnored() {
        byte[] json = edit(data -> {
            data.put("etaMs", 1234);
            ((ObjectNode) data.get("adapter")).put("futureField", true);
        });
        assertEquals(EventFixtures.event(EventFixtures.MERGE_PROGRESS, MergeProgress.class),
                codec.decode(json, MergeProgress.class));
    }

    private static byte[] edit(Consumer<ObjectNode> change) {
        try {
            ObjectNode root = (ObjectNode) JSON.readTree(EventFixtures.load(EventFixtures.MERGE_PROGRESS));
            change.accept((ObjectNode) root.get("data"));
            return JSON.writeValueAsBytes(root);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
