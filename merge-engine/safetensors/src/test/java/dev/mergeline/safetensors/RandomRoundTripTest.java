package dev.mergeline.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Property test: random tensor lists, written in random pieces, read back identically. */
class RandomRoundTripTest {

    private static final int ITERATIONS = 50;

    @TempDir
    Path dir;

    @Test
    void randomLayoutsRoundTrip() throws IOException {
        Random random = new Random(20240611L);
        DType[] dtypes = DType.values();
        for (int iteration = 0; iteration < ITERATIONS; iteration++) {
            Path out = dir.resolve("it" + iteration);
            int count = random.nextInt(13);
            List<TensorSpec> specs = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                List<Long> shape = new ArrayList<>();
                int rank = random.nextInt(4);
                for (int r = 0; r < rank; r++) {
                    shape.add((long) random.nextInt(random.nextInt(10) == 0 ? 1 : 9));
                }
                specs.add(new TensorSpec("layer." + i + ".w" + random.nextInt(1000), dtypes[random.nextInt(dtypes.length)], shape));
            }
            long maxShard = 1 + random.nextInt(300);
            ShardLayout layout = ShardLayout.plan(specs, maxShard);
            Map<String, String> meta = Map.of("iteration", Integer.toString(iteration));

            Map<String, byte[]> contents = new HashMap<>();
            Path source = dir.resolve("source-" + iteration);
            List<WrittenFile> written;
            try (CheckpointWriter w = new CheckpointWriter(out, layout, meta)) {
                for (TensorSpec t : layout.tensors()) {
                    byte[] data = new byte[Math.toIntExact(t.byteLength())];
                    random.nextBytes(data);
                    contents.put(t.name(), data);
                    Files.write(source, data);
                    try (FileChannel src = FileChannel.open(source, StandardOpenOption.READ);
                            TensorSink sink = w.next(t.name())) {
                        int pos = 0;
                        while (pos < data.length) {
                            int n = 1 + random.nextInt(data.length - pos);
                            if (random.nextBoolean()) {
                                sink.copyFrom(src, pos, n);
                            } else {
                                sink.write(ByteBuffer.wrap(data, pos, n));
                            }
                            pos += n;
                        }
                        assertEquals(0, sink.remaining());
                    }
                }
                written = w.commit();
            }

            String label = "iteration " + iteration;
            assertEquals(layout.shards().size() + (layout.sharded() ? 1 : 0), written.size(), label);
            for (WrittenFile f : written) {
                assertEquals(TestData.sha256(out.resolve(f.fileName())), f.sha256Hex(), label);
                assertEquals(Files.size(out.resolve(f.fileName())), f.bytes(), label);
            }
            try (Checkpoint cp = Checkpoint.open(out)) {
                assertEquals(layout.tensors().stream().filter(t -> true).map(TensorSpec::name).sorted().toList(),
                        cp.tensorNames().stream().sorted().toList(), label);
                assertEquals(layout.shards().size(), cp.files().size(), label);
                for (int s = 0; s < layout.shards().size(); s++) {
                    SafetensorsFile f = cp.files().get(s);
                    assertEquals(layout.shards().get(s).fileName(), f.path().getFileName().toString(), label);
                    assertEquals(0, f.header().dataStart() % 8, label);
                    assertEquals(Files.size(f.path()), f.header().fileSize(), label);
                    for (TensorSpec t : layout.shards().get(s).tensors()) {
                        TensorInfo info = f.header().tensor(t.name()).orElseThrow();
                        assertEquals(t, TensorSpec.of(info), label);
                        assertArrayEquals(contents.get(t.name()), TestData.read(f, info), label + " " + t.name());
                    }
                }
                assertEquals(Integer.toString(iteration), cp.metadata().get("iteration"));
            }
        }
    }
}
