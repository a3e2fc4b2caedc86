package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.LowRankBlock.DeltaRounding;
import dev.mergeline.core.merge.LowRankBlock.Dora;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class ReferenceMergeKernelTest {

    private final ReferenceMergeKernel kernel = new ReferenceMergeKernel();

    @Test
    void fusedF32IsBasePlusScaledProduct() {
        // d = 2 * [[2], [1]] @ [[0.5, 0.25]] = [[2, 1], [1, 0.5]]
        float[] out = run(DType.F32, DType.F32, DeltaRounding.FUSED, null,
                2, 2, 1, new float[] {1, 2, 3, 4}, new float[] {2, 1}, new float[] {0.5f, 0.25f}, 2f);
        assertArrayEquals(new float[] {3, 3, 4, 4.5f}, out);
        assertEquals("java", kernel.executionProvider());
    }

    @Test
    void productAccumulatesInFp32InIncreasingK() {
        // 1e8 + 1 rounds back to 1e8 in fp32, so k order gives 0 where other orders give 1.
        float[] out = run(DType.F32, DType.F32, DeltaRounding.FUSED, null,
                1, 1, 3, new float[] {0}, new float[] {1e8f, 1, -1e8f}, new float[] {1, 1, 1}, 1f);
        assertArrayEquals(new float[] {0}, out);
        // the scale multiplies the rounded fp32 product: (0.1f*3 rounded) * 10, not 0.1*30
        float expected = (0.1f * 3f) * 10f;
        out = run(DType.F32, DType.F32, DeltaRounding.FUSED, null,
                1, 1, 1, new float[] {0}, new float[] {0.1f}, new float[] {3f}, 10f);
        assertEquals(expected, out[0]);
    }

    @Test
    void bf16FusedRoundsOnceAndDeltaFirstRoundsTwice() {
        // w = 1 + 2^-7 (odd bf16 mantissa), d = 0.0039 just under half a bf16 ulp of w.
        // FUSED: w + d is below the halfway point, stays w.
        // DELTA_FIRST: bf16(d) = 2^-8 exactly, w + 2^-8 is a tie, rounds to even 1 + 2^-6.
        float w = 1 + 0x1p-7f;
        float[] fused = run(DType.BF16, DType.BF16, DeltaRounding.FUSED, null,
                1, 1, 1, new float[] {w}, new float[] {0.0039f}, new float[] {1}, 1f);
        float[] deltaFirst = run(DType.BF16, DType.BF16, DeltaRounding.DELTA_FIRST, null,
                1, 1, 1, new float[] {w}, new float[] {0.0039f}, new float[] {1}, 1f);
        assertEquals(w, fused[0]);
        assertEquals(1 + 0x1p-6f, deltaFirst[0]);
    }

    @Test
    void f16FusedRoundsOnceAndDeltaFirstRoundsTwice() {
        // w = 1 + 2^-10, d = 2^-11 - 2^-23: f16(d) ties up to 2^-11, then w + 2^-11 ties to 1 + 2^-9.
        float w = 1 + 0x1p-10f;
        float d = 0x1p-11f - 0x1p-23f;
        float[] fused = run(DType.F16, DType.F16, DeltaRounding.FUSED, null,
                1, 1, 1, new float[] {w}, new float[] {d}, new float[] {1}, 1f);
        float[] deltaFirst = run(DType.F16, DType.F16, DeltaRounding.DELTA_FIRST, null,
                1, 1, 1, new float[] {w}, new float[] {d}, new float[] {1}, 1f);
        assertEquals(w, fused[0]);
        assertEquals(1 + 0x1p-9f, deltaFirst[0]);
    }

    @Test
    void deltaFirstIsFusedForF32Output() {
        float[] fused = run(DType.F32, DType.F32, DeltaRounding.FUSED, null,
                1, 2, 1, new float[] {1, 2}, new float[] {0.3f}, new float[] {0.7f, 0.11f}, 0.5f);
        float[] deltaFirst = run(DType.F32, DType.F32, DeltaRounding.DELTA_FIRST, null,
                1, 2, 1, new float[] {1, 2}, new float[] {0.3f}, new float[] {0.7f, 0.11f}, 0.5f);
        assertArrayEquals(fused, deltaFirst);
    }

    @Test
    void baseIsRoundedToTheOutputTypeFirst() {
        float tie = 1 + 0x1p-8f; // exact in f32 and f16, halfway between two bf16 values
        float[] zeroDelta = {0};
        assertEquals(1.0f, run(DType.F32, DType.BF16, DeltaRounding.FUSED, null,
                1, 1, 1, new float[] {tie}, zeroDelta, new float[] {1}, 1f)[0]);
        assertEquals(1.0f, run(DType.F16, DType.BF16, DeltaRounding.FUSED, null,
                1, 1, 1, new float[] {tie}, zeroDelta, new float[] {1}, 1f)[0]);
        assertEquals(tie, run(DType.F32, DType.F16, DeltaRounding.FUSED, null,
                1, 1, 1, new float[] {tie}, zeroDelta, new float[] {1}, 1f)[0]);
        assertEquals(tie, run(DType.F16, DType.F32, DeltaRounding.FUSED, null,
                1, 1, 1, new float[] {tie}, zeroDelta, new float[] {1}, 1f)[0]);
        // w is rounded before the delta is added: bf16(tie) + 2^-8 = 1 + 2^-8, a tie again -> 1.0.
        // Adding the delta to the unrounded base would give 1 + 2^-7.
        assertEquals(1.0f, run(DType.F32, DType.BF16, DeltaRounding.FUSED, null,
                1, 1, 1, new float[] {tie}, new float[] {0x1p-8f}, new float[] {1}, 1f)[0]);
        // a base outside the f16 range overflows when rounded to an f16 output
        assertEquals(Float.POSITIVE_INFINITY, run(DType.BF16, DType.F16, DeltaRounding.FUSED, null,
                1, 1, 1, new float[] {0x1p20f}, new float[] {-1}, new float[] {1}, 1e6f)[0]);
    }

    @Test
    void doraScalesEachRowToItsMagnitude() {
        // d = [[0, 1], [0, 0]] turns base [[3, -1], [0, 4]] into v = [[3, 0], [0, 4]]
        ByteBuffer magnitude = f32Buffer(6, 2);
        float[] out = run(DType.F32, DType.F32, DeltaRounding.FUSED, new Dora(magnitude, false),
                2, 2, 1, new float[] {3, -1, 0, 4}, new float[] {1, 0}, new float[] {0, 1}, 1f);
        assertArrayEquals(new float[] {6, 0, 0, 2}, out);
    }

    @Test
    void doraPerColumnScalesEachColumnToItsMagnitude() {
        // v = [[3, 0], [4, 1]]: column norms 5 and 1, magnitudes 10 and 3 -> factors 2 and 3
        ByteBuffer magnitude = f32Buffer(10, 3);
        float[] out = run(DType.F32, DType.F32, DeltaRounding.FUSED, new Dora(magnitude, true),
                2, 2, 1, new float[] {3, -1, 4, 1}, new float[] {1, 0}, new float[] {0, 1}, 1f);
        assertArrayEquals(new float[] {6, 0, 8, 3}, out);
    }

    @Test
    void doraComputesFactorThenRoundsTheProductOnce() {
        // row [1, 1, 1]: norm fp32(sqrt 3); factor = fp32(1 / norm); out = round_out(factor * v)
        float norm = (float) Math.sqrt(3.0);
        float factor = 1f / norm;
        for (DType outType : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            float[] out = run(DType.F32, outType, DeltaRounding.FUSED, new Dora(f32Buffer(1), false),
                    1, 3, 1, new float[] {1, 1, 1}, new float[] {0}, new float[] {0, 0, 0}, 1f);
            float expected = FloatBits.round(factor, outType);
            assertArrayEquals(new float[] {expected, expected, expected}, out, outType.name());
        }
    }

    @Test
    void doraNormAccumulatesBeyondFp32Range() {
        // squares of 1e30 overflow fp32 but the double accumulation keeps the norm finite
        float[] out = run(DType.F32, DType.F32, DeltaRounding.FUSED, new Dora(f32Buffer(1), false),
                1, 2, 1, new float[] {1e30f, 1e30f}, new float[] {0}, new float[] {0, 0}, 1f);
        float factor = 1f / (float) Math.sqrt(2e60);
        assertArrayEquals(new float[] {factor * 1e30f, factor * 1e30f}, out);
    }

    @Test
    void buffersKeepTheirPositionsAndBytesOutsideTheirWindow() {
        ByteBuffer base = window(f32Bytes(1, 2), 3);
        ByteBuffer left = window(f32Bytes(1), 5);
        ByteBuffer right = window(f32Bytes(1, 1), 1);
        ByteBuffer out = ByteBuffer.allocate(8); // big-endian by default: the kernel must not care
        for (int i : new int[] {0, 1, 6, 7}) {
            out.put(i, (byte) 0x5A);
        }
        out.position(2).limit(6);
        kernel.lowRank(new LowRankBlock(base, DType.F32, DType.BF16, left, right,
                1, 2, 1, 1f, DeltaRounding.FUSED, null, out));
        assertEquals(3, base.position());
        assertEquals(5, left.position());
        assertEquals(1, right.position());
        assertEquals(2, out.position());
        assertEquals(6, out.limit());
        ByteBuffer whole = out.duplicate().clear();
        for (int i : new int[] {0, 1, 6, 7}) {
            assertEquals(0x5A, whole.get(i), "byte " + i);
        }
        assertEquals(2.0f, FloatBits.get(out, DType.BF16, 0));
        assertEquals(3.0f, FloatBits.get(out, DType.BF16, 1));
    }

    @Test
    void emptyBlocksWriteNothing() {
        ByteBuffer empty = ByteBuffer.allocate(0);
        ByteBuffer around = ByteBuffer.allocate(6);
        for (int i = 0; i < 6; i++) {
            around.put(i, (byte) 0x5A);
        }
        ByteBuffer out = around.slice(3, 0); // an empty window inside bytes that must stay as they are
        ByteBuffer right = f32Buffer(1, 2, 3);
        kernel.lowRank(new LowRankBlock(empty, DType.F16, DType.F16, empty, right,
                0, 3, 1, 1f, DeltaRounding.FUSED, null, out));
        for (int i = 0; i < 6; i++) {
            assertEquals(0x5A, around.get(i), "byte " + i);
        }
        assertEquals(0, right.position());
        assertEquals(0, out.position());
    }

    @Test
    void convertRoundsToNearestEven() {
        float[] values = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, 65520f, -0f, Float.NEGATIVE_INFINITY, 0x1p-25f, Float.NaN};
        ByteBuffer in = window(f32Bytes(values), 4);
        ByteBuffer bf16 = ByteBuffer.allocate(2 * values.length);
        ByteBuffer f16 = ByteBuffer.allocate(2 * values.length);
        kernel.convert(in, DType.F32, bf16, DType.BF16, values.length);
        kernel.convert(in, DType.F32, f16, DType.F16, values.length);
        assertEquals(4, in.position());
        assertEquals(0, bf16.position());
        int[] expectedBf16 = {0x3F80, 0x3F82, 0x4780, 0x8000, 0xFF80, 0x3300};
        int[] expectedF16 = {0x3C04, 0x3C0C, 0x7C00, 0x8000, 0xFC00, 0x0000};
        for (int i = 0; i < expectedBf16.length; i++) {
            assertEquals(expectedBf16[i], FloatBits.getBits(bf16, DType.BF16, i), "bf16 " + i);
            assertEquals(expectedF16[i], FloatBits.getBits(f16, DType.F16, i), "f16 " + i);
        }
        assertTrue(FloatBits.isNaN(FloatBits.getBits(bf16, DType.BF16, 6), DType.BF16));
        assertTrue(FloatBits.isNaN(FloatBits.getBits(f16, DType.F16, 6), DType.F16));

        // f16 -> bf16 goes through the exact fp32 value
        ByteBuffer back = ByteBuffer.allocate(2 * values.length);
        kernel.convert(f16, DType.F16, back, DType.BF16, values.length);
        assertEquals(0x3F80, FloatBits.getBits(back, DType.BF16, 0)); // f16 1 + 2^-8 is a bf16 tie
        assertEquals(0x3F82, FloatBits.getBits(back, DType.BF16, 1));
        assertEquals(0x7F80, FloatBits.getBits(back, DType.BF16, 2));
    }

    @Test
    void convertToTheSameTypeCopiesBits() {
        ByteBuffer in = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort(0, (short) 0x7D01).putShort(2, (short) 0x3C00);
        ByteBuffer out = ByteBuffer.allocate(4);
        kernel.convert(in, DType.F16, out, DType.F16, 2);
        assertEquals(0x7D01, FloatBits.getBits(out, DType.F16, 0));
        assertEquals(0x3C00, FloatBits.getBits(out, DType.F16, 1));
    }

    @Test
    void convertRejectsOtherTypesAndSizes() {
        ByteBuffer four = ByteBuffer.allocate(4);
        assertThrows(IllegalArgumentException.class, () -> kernel.convert(four, DType.I32, four, DType.F32, 1));
        assertThrows(IllegalArgumentException.class, () -> kernel.convert(four, DType.F32, four, DType.F16, 1));
    }

    // ---- helpers ----

    private float[] run(DType baseType, DType outType, DeltaRounding rounding, Dora dora,
            int rows, int cols, int rank, float[] base, float[] left, float[] right, float scale) {
        ByteBuffer baseBuffer = ByteBuffer.allocate(rows * cols * baseType.byteSize());
        for (int i = 0; i < base.length; i++) {
            FloatBits.put(baseBuffer, baseType, i, base[i]);
            assertEquals(base[i], FloatBits.get(baseBuffer, baseType, i), "test base values must be exact");
        }
        ByteBuffer out = ByteBuffer.allocate(rows * cols * outType.byteSize());
        kernel.lowRank(new LowRankBlock(baseBuffer, baseType, outType, f32Buffer(left), f32Buffer(right),
                rows, cols, rank, scale, rounding, dora, out));
        float[] result = new float[rows * cols];
        for (int i = 0; i < result.length; i++) {
            result[i] = FloatBits.get(out, outType, i);
        }
        return result;
    }

    static ByteBuffer f32Buffer(float... values) {
        return ByteBuffer.wrap(f32Bytes(values));
    }

    static byte[] f32Bytes(float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buffer.putFloat(v);
        }
        return buffer.array();
    }

    /** A buffer whose window [offset, offset + bytes) holds {@code bytes}, with junk around it. */
    static ByteBuffer window(byte[] bytes, int offset) {
        ByteBuffer buffer = ByteBuffer.allocate(offset + bytes.length + 3);
        for (int i = 0; i < buffer.capacity(); i++) {
            buffer.put(i, (byte) 0x7F);
        }
        buffer.position(offset);
        buffer.put(bytes);
        buffer.position(offset).limit(offset + bytes.length);
        return buffer;
    }
}
