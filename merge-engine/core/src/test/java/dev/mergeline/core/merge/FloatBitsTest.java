package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class FloatBitsTest {

    /** All non-negative finite values of a 16-bit format, ascending, plus the overflow value. */
    private static final class Grid {
        final double[] values;
        final int infinityBits;

        Grid(DType type) {
            infinityBits = type == DType.F16 ? 0x7C00 : 0x7F80;
            values = new double[infinityBits + 1];
            for (int bits = 0; bits < infinityBits; bits++) {
                values[bits] = FloatBits.fromBits(bits, type);
            }
            // Round-to-nearest overflows where a value would be the next step after the largest
            // finite one: 2^16 for f16, 2^128 for bf16.
            values[infinityBits] = type == DType.F16 ? 65536.0 : Math.scalb(1.0, 128);
        }

        /** Slow, independent round-to-nearest-even of a finite non-NaN float. */
        int nearest(float x) {
            int sign = Float.floatToRawIntBits(x) < 0 ? 0x8000 : 0;
            double magnitude = Math.abs((double) x);
            int index = Arrays.binarySearch(values, magnitude);
            if (index >= 0) {
                return sign | index;
            }
            int above = -index - 1;
            if (above > infinityBits) {
                return sign | infinityBits;
            }
            int below = above - 1;
            double toBelow = magnitude - values[below];
            double toAbove = values[above] - magnitude;
            int chosen;
            if (toBelow < toAbove) {
                chosen = below;
            } else if (toAbove < toBelow) {
                chosen = above;
            } else {
                chosen = (below & 1) == 0 ? below : above;
            }
            return sign | chosen;
        }
    }

    private static final Grid F16_GRID = new Grid(DType.F16);
    private static final Grid BF16_GRID = new Grid(DType.BF16);

    @Test
    void everyBf16SurvivesARoundTrip() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = FloatBits.bf16ToFloat(bits);
            int back = FloatBits.floatToBf16(f) & 0xFFFF;
            if (FloatBits.isNaN(bits, DType.BF16)) {
                assertTrue(Float.isNaN(f));
                assertTrue(FloatBits.isNaN(back, DType.BF16));
            } else {
                assertEquals(bits, back, "0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void everyF16SurvivesARoundTrip() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = FloatBits.f16ToFloat(bits);
            int back = FloatBits.floatToF16(f) & 0xFFFF;
            if ((bits & 0x7C00) == 0x7C00 && (bits & 0x3FF) != 0) {
                assertTrue(Float.isNaN(f));
                assertEquals(bits | 0x200, back, "NaN comes back quiet with its payload and sign");
            } else {
                assertEquals(bits, back, "0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void f16DecodesKnownValues() {
        assertEquals(1.0f, FloatBits.f16ToFloat(0x3C00));
        assertEquals(-2.0f, FloatBits.f16ToFloat(0xC000));
        assertEquals(65504.0f, FloatBits.f16ToFloat(0x7BFF));
        assertEquals(0x1p-24f, FloatBits.f16ToFloat(0x0001));
        assertEquals(1023 * 0x1p-24f, FloatBits.f16ToFloat(0x03FF));
        assertEquals(0x1p-14f, FloatBits.f16ToFloat(0x0400));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(FloatBits.f16ToFloat(0x8000)));
        assertEquals(-0x1p-24f, FloatBits.f16ToFloat(0x8001));
        assertEquals(Float.POSITIVE_INFINITY, FloatBits.f16ToFloat(0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, FloatBits.f16ToFloat(0xFC00));
        assertTrue(Float.isNaN(FloatBits.f16ToFloat(0x7C01)));
        assertTrue(Float.isNaN(FloatBits.f16ToFloat(0xFE00)));
    }

    @Test
    void bf16DecodesKnownValues() {
        assertEquals(1.0f, FloatBits.bf16ToFloat(0x3F80));
        assertEquals(-1.0078125f, FloatBits.bf16ToFloat(0xBF81));
        assertEquals(Float.POSITIVE_INFINITY, FloatBits.bf16ToFloat(0x7F80));
        assertEquals(Float.MIN_VALUE * 0x10000, FloatBits.bf16ToFloat(0x0001));
        assertTrue(Float.isNaN(FloatBits.bf16ToFloat(0x7FC0)));
    }

    @Test
    void tiesRoundToEven() {
        // bf16 keeps 8 significant bits: halfway points between 1 and 1 + 2^-7 and beyond.
        assertEquals(0x3F80, bf16(1 + 0x1p-8f));
        assertEquals(0x3F82, bf16(1 + 3 * 0x1p-8f));
        assertEquals(0x3F81, bf16(Math.nextUp(1 + 0x1p-8f)));
        assertEquals(0xBF80, bf16(-(1 + 0x1p-8f)));
        assertEquals(0xBF82, bf16(-(1 + 3 * 0x1p-8f)));
        // f16 keeps 11 significant bits.
        assertEquals(0x3C00, f16(1 + 0x1p-11f));
        assertEquals(0x3C02, f16(1 + 3 * 0x1p-11f));
        assertEquals(0x3C01, f16(Math.nextUp(1 + 0x1p-11f)));
        assertEquals(0x3C00, f16(Math.nextDown(1 + 0x1p-11f)));
        // f16 subnormals: unit 2^-24.
        assertEquals(0x0000, f16(0x1p-25f));
        assertEquals(0x0001, f16(Math.nextUp(0x1p-25f)));
        assertEquals(0x0002, f16(3 * 0x1p-25f));
        assertEquals(0x0002, f16(5 * 0x1p-25f));
        assertEquals(0x8000, f16(-0x1p-25f));
        assertEquals(0x0400, f16(1023.5f * 0x1p-24f), "rounds up into the smallest normal");
        assertEquals(0x03FF, f16(1023.25f * 0x1p-24f));
        assertEquals(0x0000, f16(Float.MIN_VALUE));
    }

    @Test
    void overflowBecomesInfinity() {
        assertEquals(0x7BFF, f16(65519.0f));
        assertEquals(0x7C00, f16(65520.0f));
        assertEquals(0xFC00, f16(-65520.0f));
        assertEquals(0x7C00, f16(Float.MAX_VALUE));
        assertEquals(0x7C00, f16(Float.POSITIVE_INFINITY));
        assertEquals(0xFC00, f16(Float.NEGATIVE_INFINITY));
        assertEquals(0x7F80, bf16(Float.MAX_VALUE));
        assertEquals(0x7F7F, bf16(Float.intBitsToFloat(0x7F7F7FFF)));
        assertEquals(0x7F80, bf16(Float.intBitsToFloat(0x7F7F8000)));
        assertEquals(0xFF80, bf16(-Float.MAX_VALUE));
        assertEquals(0x7F80, bf16(Float.POSITIVE_INFINITY));
    }

    @Test
    void nanStaysQuietNaN() {
        float signaling = Float.intBitsToFloat(0x7F800001); // truncation would make this infinity
        float negativeQuiet = Float.intBitsToFloat(0xFFC00000);
        for (float nan : new float[] {Float.NaN, signaling, negativeQuiet, Float.intBitsToFloat(0x7FFFFFFF)}) {
            int b = bf16(nan);
            int h = f16(nan);
            assertTrue(FloatBits.isNaN(b, DType.BF16), Integer.toHexString(b));
            assertTrue(FloatBits.isNaN(h, DType.F16), Integer.toHexString(h));
            assertEquals(0x0040, b & 0x0040, "bf16 quiet bit");
            assertEquals(0x0200, h & 0x0200, "f16 quiet bit");
            assertEquals(Float.floatToRawIntBits(nan) < 0, (b & 0x8000) != 0, "bf16 sign");
            assertEquals(Float.floatToRawIntBits(nan) < 0, (h & 0x8000) != 0, "f16 sign");
        }
        assertTrue(Float.isNaN(FloatBits.round(Float.NaN, DType.F16)));
        assertTrue(Float.isNaN(FloatBits.round(Float.NaN, DType.BF16)));
    }

    @Test
    void narrowingMatchesASlowReferenceAcrossTheFloatRange() {
        // Every 4099th bit pattern (about a million floats of every exponent and sign) ...
        for (long raw = 0; raw <= 0xFFFFFFFFL; raw += 4099) {
            checkNarrowing(Float.intBitsToFloat((int) raw));
        }
        // ... and the neighbourhood of every halfway point between adjacent 16-bit values.
        for (Grid grid : new Grid[] {F16_GRID, BF16_GRID}) {
            for (int bits = 0; bits < grid.infinityBits; bits++) {
                float mid = (float) ((grid.values[bits] + grid.values[bits + 1]) / 2);
                for (float x : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                    checkNarrowing(x);
                    checkNarrowing(-x);
                }
            }
        }
    }

    private static void checkNarrowing(float x) {
        if (Float.isNaN(x)) {
            return;
        }
        assertEquals(F16_GRID.nearest(x), f16(x), () -> "f16 of " + x + " " + Integer.toHexString(Float.floatToRawIntBits(x)));
        assertEquals(BF16_GRID.nearest(x), bf16(x), () -> "bf16 of " + x + " " + Integer.toHexString(Float.floatToRawIntBits(x)));
    }

    @Test
    void roundAndBitsHelpersAgree() {
        assertEquals(1.0f, FloatBits.round(1 + 0x1p-8f, DType.BF16));
        assertEquals(1 + 0x1p-8f, FloatBits.round(1 + 0x1p-8f, DType.F16));
        assertEquals(1 + 0x1p-8f, FloatBits.round(1 + 0x1p-8f, DType.F32));
        assertEquals(0x3F80, FloatBits.toBits(1.0f, DType.BF16));
        assertEquals(0x3C00, FloatBits.toBits(1.0f, DType.F16));
        assertEquals(0x3F800000, FloatBits.toBits(1.0f, DType.F32));
        assertEquals(-3.5f, FloatBits.fromBits(FloatBits.toBits(-3.5f, DType.F16), DType.F16));
    }

    @Test
    void buffersAreLittleEndianAndPositionRelative() {
        for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
            ByteBuffer buffer = ByteBuffer.allocate(16).order(order);
            buffer.position(2).limit(14);
            FloatBits.put(buffer, DType.F32, 1, 1.0f); // bytes 6..9
            FloatBits.put(buffer, DType.BF16, 0, -2.0f); // bytes 2..3
            FloatBits.put(buffer, DType.F16, 5, 1.0f); // bytes 12..13
            assertEquals(2, buffer.position());
            assertEquals(14, buffer.limit());
            assertEquals((byte) 0x80, buffer.get(8));
            assertEquals((byte) 0x3F, buffer.get(9));
            assertEquals((byte) 0x00, buffer.get(2));
            assertEquals((byte) 0xC0, buffer.get(3));
            assertEquals((byte) 0x00, buffer.get(12));
            assertEquals((byte) 0x3C, buffer.get(13));
            assertEquals(1.0f, FloatBits.get(buffer, DType.F32, 1));
            assertEquals(-2.0f, FloatBits.get(buffer, DType.BF16, 0));
            assertEquals(1.0f, FloatBits.get(buffer, DType.F16, 5));
            assertEquals(0x3F80, FloatBits.getBits(buffer, DType.BF16, 3)); // high half of the f32 1.0
        }
    }

    @Test
    void ulpDistanceCountsRepresentableSteps() {
        assertEquals(0, FloatBits.ulpDistance(1.0f, 1.0f));
        assertEquals(1, FloatBits.ulpDistance(1.0f, Math.nextUp(1.0f)));
        assertEquals(1, FloatBits.ulpDistance(Math.nextDown(1.0f), 1.0f));
        assertEquals(0, FloatBits.ulpDistance(0.0f, -0.0f));
        assertEquals(2, FloatBits.ulpDistance(-Float.MIN_VALUE, Float.MIN_VALUE));
        assertEquals(1, FloatBits.ulpDistance(Float.MAX_VALUE, Float.POSITIVE_INFINITY));
        assertEquals(0, FloatBits.ulpDistance(Float.NaN, Float.intBitsToFloat(0xFFC00001)));
        assertEquals(Long.MAX_VALUE, FloatBits.ulpDistance(Float.NaN, 1.0f));
        assertEquals(1, FloatBits.ulpDistance(0x3F80, 0x3F81, DType.BF16));
        assertEquals(2, FloatBits.ulpDistance(0x8001, 0x0001, DType.F16));
        assertEquals(0, FloatBits.ulpDistance(0x8000, 0x0000, DType.F16));
        assertEquals(0, FloatBits.ulpDistance(0x7E00, 0xFE01, DType.F16));
        assertEquals(Long.MAX_VALUE, FloatBits.ulpDistance(0x7C00, 0x7C01, DType.F16));
    }

    private static int bf16(float x) {
        return FloatBits.floatToBf16(x) & 0xFFFF;
    }

    private static int f16(float x) {
        return FloatBits.floatToF16(x) & 0xFFFF;
    }
}
