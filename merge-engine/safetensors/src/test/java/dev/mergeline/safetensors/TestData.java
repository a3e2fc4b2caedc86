package dev.mergeline.safetensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/** Deterministic tensor contents and helpers shared by the writer tests. */
final class TestData {

    private TestData() {
    }

    /** Bytes for a tensor, derived from its name so every tensor differs. */
    static byte[] bytesFor(TensorSpec spec) {
        byte[] b = new byte[Math.toIntExact(spec.byteLength())];
        new Random(spec.name().hashCode()).nextBytes(b);
        return b;
    }

    static TensorSpec spec(String name, DType dtype, Long... shape) {
        return new TensorSpec(name, dtype, List.of(shape));
    }

    /** Writes every tensor of the layout with bytesFor, in one write call each, and commits. */
    static List<WrittenFile> writeAll(Path dir, ShardLayout layout, Map<String, String> metadata) throws IOException {
        try (CheckpointWriter w = new CheckpointWriter(dir, layout, metadata)) {
            for (TensorSpec t : layout.tensors()) {
                try (TensorSink sink = w.next(t.name())) {
                    sink.write(ByteBuffer.wrap(bytesFor(t)));
                }
            }
            return w.commit();
        }
    }

    /** Reads the whole tensor through slice(). */
    static byte[] read(SafetensorsFile f, TensorInfo t) throws IOException {
        ByteBuffer b = f.slice(t, 0, Math.toIntExact(t.byteLength()));
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    static String sha256(Path file) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> listDir(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
