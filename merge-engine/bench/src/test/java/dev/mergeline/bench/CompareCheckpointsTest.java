package dev.mergeline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ulp distances between two files' tensors, element by element in the tensor's dtype. */
class CompareCheckpointsTest {
    private static final short BF16_ONE = 0x3F80;
    private static final short BF16_NAN = 0x7FC0;
    private static final short BF16_OTHER_NAN = 0x7FC1;

    @TempDir
    Path dir;

    private long distance(short[] a, short[] b) throws IOException {
        try (SafetensorsFile fa = SafetensorsFile.open(bf16(dir.resolve("a.safetensors"), a));
                SafetensorsFile fb = SafetensorsFile.open(bf16(dir.resolve("b.safetensors"), b))) {
            return CompareCheckpoints.maxUlp(fa, fa.header().tensor("t").orElseThrow(), fb,
                    fb.header().tensor("t").orElseThrow());
        }
    }

    @Test
    void neighboursAreOneUlpApartAcrossZeroToo() throws IOException {
        assertEquals(0, distance(new short[] {BF16_ONE, 0}, new short[] {BF16_ONE, 0}));
        assertEquals(1, distance(new short[] {BF16_ONE, 0}, new short[] {BF16_ONE + 1, 0}));
        // +0 and the smallest negative subnormal are one step apart on the ordered line
        assertEquals(1, distance(new short[] {BF16_ONE, 0}, new short[] {BF16_ONE, (short) 0x8001}));
    }

    @Test
    void twoNaNsAreEqualAndANaNAgainstANumberIsTheLargestDistance() throws IOException {
        assertEquals(0, distance(new short[] {BF16_NAN}, new short[] {BF16_OTHER_NAN}));
        assertEquals(Long.MAX_VALUE, distance(new short[] {BF16_NAN}, new short[] {BF16_ONE}));
    }

    /** A file with one BF16 tensor {@code t} holding {@code values}. */
    private static Path bf16(Path file, short[] values) throws IOException {
        byte[] header = ("{\"t\":{\"dtype\":\"BF16\",\"shape\":[" + values.length + "],\"data_offsets\":[0,"
                + 2 * values.length + "]}}").getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + header.length + 2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.length).put(header);
        for (short v : values) {
            out.putShort(v);
        }
        Files.write(file, out.array());
        return file;
    }
}
