package dev.mergeline.safetensors;

import static dev.mergeline.safetensors.TestData.spec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointWriterTest {

    @TempDir
    Path dir;

    /** F32, BF16, I64 and scalar tensors; with a 64-byte limit they fall into 3 shards. */
    static List<TensorSpec> mixed() {
        return List.of(
                spec("model.embed.weight", DType.F32, 4L, 3L),            // 48 bytes, shard 1
                spec("model.layers.0.attn.q.weight", DType.BF16, 2L, 4L), // 16, shard 2 (48 + 16 > 60)
                spec("model.layers.0.scale", DType.F32),                  // 4, scalar
                spec("model.layers.0.steps", DType.I64, 3L),              // 24
                spec("model.layers.0.bias", DType.BF16, 5L),              // 10 (shard 2 now holds 54)
                spec("model.norm.eps", DType.F64),                        // 8, scalar, shard 3 (54 + 8 > 60)
                spec("model.empty", DType.F16, 0L, 3L));                  // 0
    }

    @Test
    void roundTripThreeShards() throws IOException {
        ShardLayout layout = ShardLayout.plan(mixed(), 60);
        assertEquals(3, layout.shards().size());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("mergeline.version", "0.1.0");
        meta.put("base", "ünïcode ✓");
        List<WrittenFile> written = TestData.writeAll(dir, layout, meta);

        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", "model.safetensors.index.json"),
                written.stream().map(WrittenFile::fileName).toList());
        assertEquals(TestData.listDir(dir), written.stream().map(WrittenFile::fileName).sorted().toList());
        for (WrittenFile f : written) {
            Path p = dir.resolve(f.fileName());
            assertEquals(Files.size(p), f.bytes(), f.fileName());
            assertEquals(TestData.sha256(p), f.sha256Hex(), f.fileName());
        }

        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertEquals(mixed().stream().map(TensorSpec::name).toList(), cp.tensorNames());
            assertEquals(3, cp.files().size());
            for (TensorSpec t : mixed()) {
                TensorInfo info = cp.tensor(t.name()).orElseThrow();
                assertEquals(t, TensorSpec.of(info));
                assertArrayEquals(TestData.bytesFor(t), TestData.read(cp.fileOf(t.name()), info), t.name());
            }
            Map<String, String> expectedMeta = new LinkedHashMap<>();
            expectedMeta.put("format", "pt");
            expectedMeta.putAll(meta);
            assertEquals(List.copyOf(expectedMeta.entrySet()), List.copyOf(cp.metadata().entrySet()));
            for (SafetensorsFile f : cp.files()) {
                assertEquals(0, f.header().dataStart() % 8, f.path() + " data start");
                assertEquals(expectedMeta, f.header().metadata());
            }
            assertEquals(cp.files().get(1), cp.fileOf("model.layers.0.steps"));
        }

        CheckpointIndex index = CheckpointIndex.parse(Files.readAllBytes(dir.resolve("model.safetensors.index.json")));
        assertEquals(layout.totalTensorBytes(), index.totalSize());
        assertEquals("model-00002-of-00003.safetensors", index.weightMap().get("model.layers.0.scale"));
        assertEquals(mixed().size(), index.weightMap().size());
    }

    @Test
    void headerHasMetadataFirstThenTensorsInLayoutOrderPaddedWithSpaces() throws IOException {
        List<TensorSpec> tensors = List.of(spec("z", DType.U8, 3L), spec("a", DType.U8, 2L));
        TestData.writeAll(dir, ShardLayout.plan(tensors, 1000), Map.of("k", "v"));
        byte[] file = Files.readAllBytes(dir.resolve("model.safetensors"));
        SafetensorsHeader h = SafetensorsHeader.read(dir.resolve("model.safetensors"));
        String json = new String(file, 8, Math.toIntExact(h.headerLength()), StandardCharsets.UTF_8);
        String compact = "{\"__metadata__\":{\"format\":\"pt\",\"k\":\"v\"},"
                + "\"z\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[3,5]}}";
        assertEquals(compact, json.stripTrailing());
        assertEquals(0, (8 + json.length()) % 8);
        assertTrue(json.length() - compact.length() < 8);
        assertEquals(8 + json.length() + 5, file.length);
    }

    @Test
    void namesAreEscapedByJackson() throws IOException {
        String odd = "a\"b\\c\n}\u0001ü";
        TestData.writeAll(dir, ShardLayout.plan(List.of(spec(odd, DType.F32, 1L)), 1000), Map.of("q\"", "\"}"));
        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertEquals(List.of(odd), cp.tensorNames());
            assertEquals("\"}", cp.metadata().get("q\""));
        }
    }

    @Test
    void nonAsciiNamesAreRawUtf8InTheHeader() throws IOException {
        String name = "emb.\u00fc.\ud83d\ude00";
        TestData.writeAll(dir, ShardLayout.plan(List.of(spec(name, DType.U8, 1L)), 1000), Map.of());
        byte[] file = Files.readAllBytes(dir.resolve("model.safetensors"));
        String header = new String(file, 8, file.length - 9, StandardCharsets.UTF_8);
        assertTrue(header.contains("\"" + name + "\""), header);
        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertEquals(List.of(name), cp.tensorNames());
        }
    }

    @Test
    void singleShardIsModelSafetensorsWithoutIndex() throws IOException {
        Files.writeString(dir.resolve("model.safetensors.index.json"), "stale");
        ShardLayout layout = ShardLayout.plan(mixed(), 1L << 30);
        List<WrittenFile> written = TestData.writeAll(dir, layout, Map.of());
        assertEquals(List.of("model.safetensors"), written.stream().map(WrittenFile::fileName).toList());
        assertEquals(List.of("model.safetensors"), TestData.listDir(dir));
        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertEquals(1, cp.files().size());
            assertEquals(Map.of("format", "pt"), cp.metadata());
            for (TensorSpec t : mixed()) {
                assertArrayEquals(TestData.bytesFor(t), TestData.read(cp.fileOf(t.name()), cp.tensor(t.name()).orElseThrow()));
            }
        }
    }

    @Test
    void emptyLayoutWritesAnEmptyModel() throws IOException {
        List<WrittenFile> written = TestData.writeAll(dir, ShardLayout.plan(List.of(), 100), null);
        assertEquals(1, written.size());
        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertEquals(List.of(), cp.tensorNames());
        }
    }

    @Test
    void closeWithoutCommitLeavesNothing() throws IOException {
        ShardLayout layout = ShardLayout.plan(mixed(), 60);
        try (CheckpointWriter w = new CheckpointWriter(dir, layout, Map.of())) {
            for (TensorSpec t : mixed().subList(0, 4)) {
                w.next(t.name()).write(ByteBuffer.wrap(TestData.bytesFor(t)));
            }
            List<String> during = TestData.listDir(dir);
            assertEquals(2, during.size(), during.toString());
            for (String name : during) {
                assertTrue(name.startsWith(".model-0000") && name.contains(".safetensors.tmp-"), name);
            }
        }
        assertEquals(List.of(), TestData.listDir(dir));
    }

    @Test
    void commitWithMissingTensorThrowsAndCloseCleansUp() throws IOException {
        ShardLayout layout = ShardLayout.plan(mixed(), 60);
        try (CheckpointWriter w = new CheckpointWriter(dir, layout, Map.of())) {
            for (TensorSpec t : mixed().subList(0, mixed().size() - 1)) {
                w.next(t.name()).write(ByteBuffer.wrap(TestData.bytesFor(t)));
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, w::commit);
            assertTrue(e.getMessage().contains("6 of 7") && e.getMessage().contains("model.empty"), e.getMessage());
        }
        assertEquals(List.of(), TestData.listDir(dir));
    }

    @Test
    void commitWithPartlyWrittenTensorThrows() throws IOException {
        List<TensorSpec> one = List.of(spec("x", DType.F32, 4L));
        try (CheckpointWriter w = new CheckpointWriter(dir, ShardLayout.plan(one, 100), Map.of())) {
            w.next("x").write(ByteBuffer.allocate(8));
            assertThrows(IllegalStateException.class, w::commit);
        }
        assertEquals(List.of(), TestData.listDir(dir));
    }

    @Test
    void sinksEnforceOrderAndSizes() throws IOException {
        List<TensorSpec> tensors = List.of(spec("a", DType.F32, 2L), spec("b", DType.BF16, 2L));
        try (CheckpointWriter w = new CheckpointWriter(dir, ShardLayout.plan(tensors, 100), Map.of())) {
            IllegalStateException wrongName = assertThrows(IllegalStateException.class, () -> w.next("b"));
            assertTrue(wrongName.getMessage().contains("'a'"), wrongName.getMessage());
            TensorSink a = w.next("a");
            assertEquals(8, a.remaining());
            assertEquals(tensors.get(0), a.spec());
            IllegalStateException tooMuch = assertThrows(IllegalStateException.class, () -> a.write(ByteBuffer.allocate(9)));
            assertTrue(tooMuch.getMessage().contains("9") && tooMuch.getMessage().contains("8"), tooMuch.getMessage());
            IllegalStateException tooMuchRoom = assertThrows(IllegalStateException.class, () -> a.reserve(9));
            assertTrue(tooMuchRoom.getMessage().contains("9") && tooMuchRoom.getMessage().contains("8"),
                    tooMuchRoom.getMessage());
            a.write(ByteBuffer.allocate(5));
            assertEquals(3, a.remaining());
            assertThrows(IllegalStateException.class, a::close);
            assertThrows(IllegalStateException.class, () -> w.next("b"));
            a.write(ByteBuffer.allocate(3));
            a.close();
            TensorSink b = w.next("b");
            assertThrows(IllegalStateException.class, () -> a.write(ByteBuffer.allocate(0)));
            assertThrows(IllegalStateException.class, () -> a.reserve(0));
            b.write(ByteBuffer.allocate(4));
            assertThrows(IllegalStateException.class, () -> w.next("c"));
            List<WrittenFile> files = w.commit();
            assertEquals(1, files.size());
            assertThrows(IllegalStateException.class, w::commit);
            assertThrows(IllegalStateException.class, () -> b.write(ByteBuffer.allocate(0)));
        }
        assertEquals(List.of("model.safetensors"), TestData.listDir(dir));
    }

    @Test
    void copyFromTransfersAndHashesWithoutReadingBack() throws IOException {
        List<TensorSpec> tensors = List.of(spec("a", DType.F32, 64L), spec("b", DType.U8, 7L), spec("c", DType.I32, 3L));
        Path source = Files.createTempFile(dir.getParent(), "source", ".bin");
        byte[] src = new byte[1000];
        new java.util.Random(7).nextBytes(src);
        Files.write(source, src);
        Path out = dir.resolve("out");
        List<WrittenFile> written;
        try (FileChannel ch = FileChannel.open(source, StandardOpenOption.READ);
                CheckpointWriter w = new CheckpointWriter(out, ShardLayout.plan(tensors, 10), Map.of())) {
            ch.position(17);
            w.next("a").copyFrom(ch, 100, 256);
            TensorSink b = w.next("b");
            b.copyFrom(ch, 0, 3);
            b.write(ByteBuffer.wrap(new byte[] {1, 2}));
            b.copyFrom(ch, 998, 2);
            TensorSink c = w.next("c");
            assertThrows(IllegalStateException.class, () -> c.copyFrom(ch, 0, 13));
            assertThrows(IndexOutOfBoundsException.class, () -> c.copyFrom(ch, 990, 12));
            c.copyFrom(ch, 988, 12);
            assertEquals(17, ch.position());
            written = w.commit();
        } finally {
            Files.deleteIfExists(source);
        }
        assertEquals(4, written.size());
        for (WrittenFile f : written) {
            assertEquals(TestData.sha256(out.resolve(f.fileName())), f.sha256Hex());
        }
        try (Checkpoint cp = Checkpoint.open(out)) {
            assertArrayEquals(Arrays.copyOfRange(src, 100, 356), TestData.read(cp.fileOf("a"), cp.tensor("a").orElseThrow()));
            byte[] b = TestData.read(cp.fileOf("b"), cp.tensor("b").orElseThrow());
            assertArrayEquals(new byte[] {src[0], src[1], src[2], 1, 2, src[998], src[999]}, b);
            assertArrayEquals(Arrays.copyOfRange(src, 988, 1000), TestData.read(cp.fileOf("c"), cp.tensor("c").orElseThrow()));
        }
    }

    /**
     * Direct and buffered files, with every piece written or as many as fit filled in place
     * ({@link TensorSink#reserve}), give the same files and hashes; 3 shards of several staging
     * buffers each, so that every shard ends in a partial block.
     */
    @Test
    void directAndBufferedWritesGiveTheSameFilesAndHashesWrittenOrFilledInPlace() throws IOException {
        List<TensorSpec> tensors = List.of(spec("a", DType.F32, 10_000_000L), spec("b", DType.BF16, 6_000_001L),
                spec("c", DType.U8, 9L));
        ShardLayout layout = ShardLayout.plan(tensors, 40_000_000L);
        Map<String, List<WrittenFile>> written = new LinkedHashMap<>();
        for (StagedFile.Mode mode : StagedFile.Mode.values()) {
            for (boolean inPlace : new boolean[] {false, true}) {
                String run = mode.name() + (inPlace ? "-in-place" : "-written");
                Path out = dir.resolve(run);
                java.util.Random random = new java.util.Random(11);
                int filled = 0;
                try (CheckpointWriter w = new CheckpointWriter(out, layout, Map.of(), mode)) {
                    for (TensorSpec t : tensors) {
                        TensorSink sink = w.next(t.name());
                        while (sink.remaining() > 0) {
                            byte[] piece = new byte[(int) Math.min(sink.remaining(), 1 + random.nextInt(6 << 20))];
                            random.nextBytes(piece);
                            ByteBuffer room = inPlace ? sink.reserve(piece.length) : null;
                            if (room != null) {
                                room.put(piece);
                                filled++;
                            } else {
                                sink.write(ByteBuffer.wrap(piece));
                            }
                        }
                        sink.close();
                    }
                    written.put(run, w.commit());
                }
                assertEquals(inPlace, filled > 0, run + ": pieces filled in place");
                for (WrittenFile f : written.get(run)) {
                    assertEquals(TestData.sha256(out.resolve(f.fileName())), f.sha256Hex(), run + " " + f.fileName());
                    assertEquals(Files.size(out.resolve(f.fileName())), f.bytes(), run + " " + f.fileName());
                }
            }
        }
        for (String run : written.keySet()) {
            assertEquals(written.get("DIRECT-written"), written.get(run), run);
        }
    }

    @Test
    void replacesExistingFilesAtomically() throws IOException {
        TestData.writeAll(dir, ShardLayout.plan(mixed(), 60), Map.of("run", "1"));
        List<WrittenFile> second = TestData.writeAll(dir, ShardLayout.plan(mixed(), 60), Map.of("run", "2"));
        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertEquals("2", cp.metadata().get("run"));
        }
        assertEquals(4, second.size());
        assertEquals(4, TestData.listDir(dir).size());
    }

    @Test
    void formatMetadataReplacesPtInPlace() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("a", "1");
        meta.put("format", "mlx");
        TestData.writeAll(dir, ShardLayout.plan(List.of(), 100), meta);
        SafetensorsHeader h = SafetensorsHeader.read(dir.resolve("model.safetensors"));
        assertEquals(List.of("format", "a"), new ArrayList<>(h.metadata().keySet()));
        assertEquals("mlx", h.metadata().get("format"));
    }

    @Test
    void rejectsUnsafeShardNames() {
        for (String bad : List.of("../x.safetensors", "a/b.safetensors", ".hidden", "model.safetensors.index.json", "")) {
            ShardLayout layout = new ShardLayout(List.of(new ShardLayout.Shard(bad, List.of())));
            assertThrows(IllegalArgumentException.class, () -> new CheckpointWriter(dir, layout, Map.of()), bad);
        }
    }

    @Test
    void createsTheDirectoryOnlyWhenConstructed() throws IOException {
        Path nested = dir.resolve("a/b");
        try (CheckpointWriter w = new CheckpointWriter(nested, ShardLayout.plan(List.of(), 10), Map.of())) {
            assertTrue(Files.isDirectory(nested));
            assertEquals(1, w.layout().shards().size());
        }
        assertFalse(Files.exists(nested.resolve("model.safetensors")));
    }
}
