package dev.mergeline.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds safetensors bytes for tests: a valid header that single fields can be corrupted in. */
final class Fixture {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Object> root = new LinkedHashMap<>();

    private Fixture() {
    }

    /**
     * A valid header: metadata, then a.weight F32 [2, 3] at [0, 24], b.bias BF16 [4] at [24, 32]
     * and c.step I64 scalar at [32, 40]; 40 data bytes.
     */
    static Fixture valid() {
        Fixture f = new Fixture();
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        f.root.put("__metadata__", meta);
        f.tensor("a.weight", "F32", List.of(2, 3), 0, 24);
        f.tensor("b.bias", "BF16", List.of(4), 24, 32);
        f.tensor("c.step", "I64", List.of(), 32, 40);
        return f;
    }

    static Fixture empty() {
        return new Fixture();
    }

    Fixture tensor(String name, String dtype, List<?> shape, long begin, long end) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("dtype", dtype);
        entry.put("shape", new ArrayList<>(shape));
        entry.put("data_offsets", List.of(begin, end));
        root.put(name, entry);
        return this;
    }

    /** Replaces (or adds) one field of a tensor entry. */
    @SuppressWarnings("unchecked")
    Fixture set(String tensor, String field, Object value) {
        ((Map<String, Object>) root.get(tensor)).put(field, value);
        return this;
    }

    @SuppressWarnings("unchecked")
    Fixture remove(String tensor, String field) {
        ((Map<String, Object>) root.get(tensor)).remove(field);
        return this;
    }

    /** Replaces a whole top-level value. */
    Fixture put(String key, Object value) {
        root.put(key, value);
        return this;
    }

    String json() {
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The largest data end among well-formed entries. */
    @SuppressWarnings("unchecked")
    long dataBytes() {
        long max = 0;
        for (Map.Entry<String, Object> e : root.entrySet()) {
            if (!e.getKey().equals("__metadata__") && e.getValue() instanceof Map<?, ?> m
                    && m.get("data_offsets") instanceof List<?> l && l.size() == 2 && l.get(1) instanceof Number n) {
                max = Math.max(max, n.longValue());
            }
        }
        return max;
    }

    byte[] file() {
        return file(json(), dataBytes());
    }

    /** A file: length prefix, the JSON as UTF-8, then dataBytes bytes counting 0, 1, 2, ... */
    static byte[] file(String json, long dataBytes) {
        return file(json.getBytes(StandardCharsets.UTF_8), dataBytes);
    }

    static byte[] file(byte[] header, long dataBytes) {
        return withLength(header.length, header, dataBytes);
    }

    /** A file declaring header length n, followed by the given header bytes and data. */
    static byte[] withLength(long n, byte[] header, long dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(8 + header.length + dataBytes)).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(n).put(header);
        for (long i = 0; i < dataBytes; i++) {
            b.put((byte) i);
        }
        return b.array();
    }

    static Path write(Path dir, String name, byte[] bytes) {
        try {
            Path p = dir.resolve(name);
            Files.write(p, bytes);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
