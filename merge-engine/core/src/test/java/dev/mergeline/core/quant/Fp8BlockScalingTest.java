package dev.mergeline.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mergeline.core.merge.FloatBits;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class Fp8BlockScalingTest {

    private static ByteBuffer bf16(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            FloatBits.put(b, DType.BF16, i, values[i]);
        }
        return b;
    }

    @Test
    void gridIsTheCeilingOfShapeOverBlock() {
        Fp8BlockScaling s = new Fp8BlockScaling(128, 128);
        assertEquals(5, s.gridRows(576));
        assertEquals(56, s.gridCols(7168));
    }

    /** A 2×4 weight in blocks of 1×2: each block's amax maps to 448; a zero block keeps scale 1. */
    @Test
    void quantizesPerBlockAsTransformers() {
        Fp8BlockScaling s = new Fp8BlockScaling(1, 2);
        ByteBuffer w = bf16(1f, -2f, 0f, 0f, 0.5f, 0.25f, 3f, -0.75f);
        ByteBuffer q = ByteBuffer.allocate(8);
        float[] scaleInv = new float[4];
        s.quantize(w, DType.BF16, 0, 2, 4, q, scaleInv);
        float scale0 = (1f / 2f) * 448f;
        assertArrayEquals(new float[] {1f / scale0, 1f, 1f / ((1f / 0.5f) * 448f), 1f / ((1f / 3f) * 448f)}, scaleInv);
        assertEquals(Fp8E4m3.encode(224f), q.get(0));
        assertEquals(Fp8E4m3.encode(-448f), q.get(1));
        assertEquals(0, q.get(2));
        assertEquals(Fp8E4m3.encode(448f), q.get(6));
        assertEquals(Fp8E4m3.encode(-0.75f * ((1f / 3f) * 448f)), q.get(7));
    }

    @Test
    void dequantizesWithTheScaleOfEachBlockThenRounds() {
        Fp8BlockScaling s = new Fp8BlockScaling(1, 2);
        ByteBuffer q = ByteBuffer.wrap(new byte[] {Fp8E4m3.encode(2f), Fp8E4m3.encode(-3f), Fp8E4m3.encode(1.5f),
                Fp8E4m3.encode(0.5f)});
        FloatBuffer scales = FloatBuffer.wrap(new float[] {0.1f, 3f});
        ByteBuffer out = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        s.dequantize(q, scales, 0, 1, 4, out, DType.BF16);
        assertEquals(FloatBits.round(2f * 0.1f, DType.BF16), FloatBits.get(out, DType.BF16, 0));
        assertEquals(FloatBits.round(-3f * 0.1f, DType.BF16), FloatBits.get(out, DType.BF16, 1));
        assertEquals(4.5f, FloatBits.get(out, DType.BF16, 2));
        assertEquals(1.5f, FloatBits.get(out, DType.BF16, 3));
    }

    /** Edge blocks of a shape the block size does not divide hold only the elements that exist. */
    @Test
    void partialEdgeBlocks() {
        Fp8BlockScaling s = new Fp8BlockScaling(2, 2);
        ByteBuffer w = bf16(1f, 2f, 4f, 8f, 16f, 32f);
        float[] scaleInv = new float[2];
        s.quantize(w, DType.BF16, 0, 3, 2, ByteBuffer.allocate(6), scaleInv);
        assertEquals(1f / ((1f / 8f) * 448f), scaleInv[0]);
        assertEquals(1f / ((1f / 32f) * 448f), scaleInv[1]);
    }

    @Test
    void refusesNaNInfiniteAndNegativeScales() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, -0.5f}) {
            RejectedException e = assertThrows(RejectedException.class,
                    () -> Fp8BlockScaling.requireValidScales("w_scale_inv", FloatBuffer.wrap(new float[] {1f, bad})));
            assertEquals("INVALID_SCALE", e.reasons().get(0).detail());
            assertEquals("w_scale_inv", e.reasons().get(0).tensor());
        }
    }
}
