package dev.mergeline.cli;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The deterministic values of the bert-base-sized test base (spec and test vector in
 * merge-engine/fixtures/README.md): element i of tensor {@code name} is
 * {@code ((splitmix64(fnv1a64(name) + i) >>> 40) − 2^23) · 2^−28} as fp32, exactly.
 */
final class PrngBase {
    private PrngBase() {}

    static long splitmix64(long x) {
        long z = x + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static long fnv1a64(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h;
    }

    static float value(long seed, long index) {
        long u = splitmix64(seed + index) >>> 40;
        return (u - (1L << 23)) * 0x1p-28f;
    }

    /** Fills {@code out} (little-endian, from its position) with elements first.. of tensor {@code seed}. */
    static void fill(long seed, long first, ByteBuffer out) {
        for (long i = first; out.remaining() >= 4; i++) {
            out.putFloat(value(seed, i));
        }
    }
}
