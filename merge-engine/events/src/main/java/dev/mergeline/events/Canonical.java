package dev.mergeline.events;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Unambiguous byte encoding for hashing: every string is a presence byte (0 null, 1 present), a
 * 4-byte big-endian length and its UTF-8 bytes; a long is a presence byte and 8 bytes big-endian;
 * a map is a 4-byte entry count then its entries sorted by the UTF-8 bytes of their keys (unsigned
 * lexicographic), key then value. Simple to reproduce in any language.
 */
final class Canonical {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Canonical(String domain) {
        string(domain);
    }

    Canonical string(String s) {
        if (s == null) {
            out.write(0);
            return this;
        }
        out.write(1);
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int32(b.length);
        out.writeBytes(b);
        return this;
    }

    Canonical optionalLong(Long v) {
        if (v == null) {
            out.write(0);
            return this;
        }
        out.write(1);
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.write((int) (v >>> shift));
        }
        return this;
    }

    Canonical map(Map<String, String> m) {
        List<Map.Entry<byte[], String>> entries = new ArrayList<>(m.size());
        for (Map.Entry<String, String> e : m.entrySet()) {
            entries.add(Map.entry(e.getKey().getBytes(StandardCharsets.UTF_8), e.getValue()));
        }
        entries.sort((a, b) -> Arrays.compareUnsigned(a.getKey(), b.getKey()));
        int32(entries.size());
        for (Map.Entry<byte[], String> e : entries) {
            out.write(1);
            int32(e.getKey().length);
            out.writeBytes(e.getKey());
            string(e.getValue());
        }
        return this;
    }

    byte[] sha256() {
        try {
            return MessageDigest.getInstance("SHA-256").digest(out.toByteArray());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    String sha256Hex(int bytes) {
        return HexFormat.of().formatHex(sha256(), 0, bytes);
    }

    private void int32(int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }
}
