package dev.mergeline.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.testing.PeftFixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@link Fp8E4m3} against torch's own conversions, written by {@code generate_fp8_fixtures.py}. */
class Fp8E4m3Test {

    private static ByteBuffer vectors(String file) throws IOException {
        Path p = PeftFixtures.casesDir().resolveSibling("fp8").resolve("e4m3").resolve(file);
        return ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void decodesEveryByteAsTorch() throws IOException {
        ByteBuffer expected = vectors("decode.bin");
        for (int b = 0; b < 256; b++) {
            float want = expected.getFloat(b * 4);
            float got = Fp8E4m3.decode((byte) b);
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(got), "byte " + b);
            } else {
                assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got), "byte 0x" + Integer.toHexString(b));
            }
        }
    }

    @Test
    void encodesEveryBf16ValueAsTorch() throws IOException {
        ByteBuffer expected = vectors("encode-bf16.bin");
        for (int i = 0; i < 65536; i++) {
            float value = Float.intBitsToFloat(i << 16);
            assertEquals(expected.get(i), Fp8E4m3.encode(value), "float " + value + " (bits 0x" + Integer.toHexString(i << 16) + ")");
        }
    }

    /** Midpoints between neighbours (ties to even), one ulp either side, overflow and random floats. */
    @Test
    void encodesTiesAndRandomFloatsAsTorch() throws IOException {
        ByteBuffer records = vectors("encode-f32.bin");
        int n = records.capacity() / 5;
        assertTrue(n > 8192, "vectors present");
        for (int k = 0; k < n; k++) {
            float value = records.getFloat(k * 5);
            assertEquals(records.get(k * 5 + 4), Fp8E4m3.encode(value), "float " + value);
        }
    }

    @Test
    void subnormalsSaturationAndNaN() {
        assertEquals((byte) 0x01, Fp8E4m3.encode(0x1p-9f), "smallest subnormal");
        assertEquals((byte) 0x00, Fp8E4m3.encode(0x1p-10f), "half the smallest subnormal ties to zero");
        assertEquals((byte) 0x7E, Fp8E4m3.encode(448f));
        assertEquals((byte) 0x7E, Fp8E4m3.encode(464f), "464 ties to the even 448");
        assertEquals((byte) 0x7E, Fp8E4m3.encode(465f), "beyond: saturates, as torch on CPU");
        assertEquals((byte) 0xFE, Fp8E4m3.encode(Float.NEGATIVE_INFINITY));
        assertEquals((byte) 0x7F, Fp8E4m3.encode(Float.NaN));
        assertEquals(0x1p-9f, Fp8E4m3.decode((byte) 0x01));
        assertEquals(-448f, Fp8E4m3.decode((byte) 0xFE));
        assertTrue(Float.isNaN(Fp8E4m3.decode((byte) 0x7F)));
    }
}
