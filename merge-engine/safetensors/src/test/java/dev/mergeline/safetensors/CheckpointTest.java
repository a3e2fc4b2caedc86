package dev.mergeline.safetensors;

import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_INDEX;
import static dev.mergeline.safetensors.TestData.spec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening checkpoint directories, and every way an index can disagree with its shards. */
class CheckpointTest {

    private static final String S1 = "model-00001-of-00002.safetensors";
    private static final String S2 = "model-00002-of-00002.safetensors";
    private static final String INDEX = "model.safetensors.index.json";

    @TempDir
    Path dir;

    /** Two shards: a, b in the first; c in the second. */
    @BeforeEach
    void writeTwoShards() throws IOException {
        ShardLayout layout = ShardLayout.plan(List.of(spec("a", DType.F32, 4L), spec("b", DType.F32, 2L),
                spec("c", DType.F32, 4L)), 24);
        assertEquals(2, layout.shards().size());
        TestData.writeAll(dir, layout, Map.of("k", "v"));
    }

    private void writeIndex(String json) throws IOException {
        Files.writeString(dir.resolve(INDEX), json);
    }

    private SafetensorsException invalidIndex(String indexJson) throws IOException {
        writeIndex(indexJson);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir));
        assertEquals(INVALID_INDEX, e.reason(), e.getMessage());
        return e;
    }

    private static String index(String weightMapEntries) {
        return "{\"metadata\":{\"total_size\":40},\"weight_map\":{" + weightMapEntries + "}}";
    }

    @Test
    void opensShardsInOrder() throws IOException {
        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertEquals(List.of("a", "b", "c"), cp.tensorNames());
            assertEquals(List.of(S1, S2), cp.files().stream().map(f -> f.path().getFileName().toString()).toList());
            assertEquals("v", cp.metadata().get("k"));
            assertEquals(Optional.empty(), cp.tensor("zz"));
            assertEquals(16, cp.tensor("c").orElseThrow().byteLength());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cp.fileOf("zz"));
            assertTrue(e.getMessage().contains("zz"));
        }
    }

    @Test
    void indexTakesPrecedenceOverModelSafetensors() throws IOException {
        TestData.writeAll(dir.resolve("single"), ShardLayout.plan(List.of(spec("only", DType.U8, 1L)), 10), Map.of());
        Files.move(dir.resolve("single/model.safetensors"), dir.resolve("model.safetensors"));
        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertEquals(List.of("a", "b", "c"), cp.tensorNames());
        }
        Files.delete(dir.resolve(INDEX));
        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertEquals(List.of("only"), cp.tensorNames());
        }
    }

    @Test
    void noCheckpointFiles() throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertThrows(NoSuchFileException.class, () -> Checkpoint.open(empty));
        assertThrows(NoSuchFileException.class, () -> Checkpoint.open(dir.resolve("missing")));
    }

    @Test
    void indexNotJson() throws IOException {
        invalidIndex("{\"weight_map\": ");
        invalidIndex("[]");
        invalidIndex("{\"metadata\":{\"total_size\":\"40\"},\"weight_map\":{}}");
        invalidIndex("{\"metadata\":{\"total_size\":40}}");
        invalidIndex("{\"weight_map\":{\"a\":1}}");
    }

    @Test
    void indexWithDuplicateKey() throws IOException {
        SafetensorsException e = invalidIndex(index("\"a\":\"" + S1 + "\",\"b\":\"" + S1 + "\",\"c\":\"" + S2
                + "\",\"a\":\"" + S1 + "\""));
        assertEquals(Optional.of("a"), e.tensor());
    }

    @Test
    void emptyWeightMap() throws IOException {
        invalidIndex(index(""));
    }

    @Test
    void entryPointsToMissingFile() throws IOException {
        SafetensorsException e = invalidIndex(index("\"a\":\"" + S1 + "\",\"b\":\"" + S1 + "\",\"c\":\"model-3.safetensors\""));
        assertEquals(Optional.of("c"), e.tensor());
        assertTrue(e.getMessage().contains("model-3.safetensors"), e.getMessage());
    }

    @Test
    void entryPointsToFileLackingTheTensor() throws IOException {
        SafetensorsException e = invalidIndex(index("\"a\":\"" + S1 + "\",\"b\":\"" + S2 + "\",\"c\":\"" + S2 + "\""));
        assertEquals(Optional.of("b"), e.tensor());
    }

    @Test
    void entryForTensorNoShardHas() throws IOException {
        SafetensorsException e = invalidIndex(index("\"a\":\"" + S1 + "\",\"b\":\"" + S1 + "\",\"c\":\"" + S2
                + "\",\"ghost\":\"" + S2 + "\""));
        assertEquals(Optional.of("ghost"), e.tensor());
    }

    @Test
    void tensorInShardButNotInWeightMap() throws IOException {
        SafetensorsException e = invalidIndex(index("\"a\":\"" + S1 + "\",\"c\":\"" + S2 + "\""));
        assertEquals(Optional.of("b"), e.tensor());
    }

    @Test
    void sameTensorInTwoShards() throws IOException {
        Path other = dir.resolve("other");
        TestData.writeAll(other, ShardLayout.plan(List.of(spec("c", DType.F32, 4L), spec("a", DType.F32, 4L)), 1000), Map.of());
        Files.move(other.resolve("model.safetensors"), dir.resolve(S2), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        SafetensorsException e = invalidIndex(index("\"a\":\"" + S1 + "\",\"b\":\"" + S1 + "\",\"c\":\"" + S2 + "\""));
        assertEquals(Optional.of("a"), e.tensor());
    }

    @Test
    void fileNamesLeavingTheDirectory() throws IOException {
        for (String bad : List.of("../" + S2, "sub/" + S2, "..", "..\\\\x", "/etc/passwd", "")) {
            SafetensorsException e = invalidIndex(index("\"a\":\"" + S1 + "\",\"b\":\"" + S1 + "\",\"c\":\"" + bad + "\""));
            assertEquals(Optional.of("c"), e.tensor(), bad);
        }
    }

    @Test
    void brokenShardReportsItsOwnReason() throws IOException {
        Files.write(dir.resolve(S2), new byte[5]);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir));
        assertEquals(SafetensorsException.Reason.HEADER_TOO_SMALL, e.reason());
    }
}
