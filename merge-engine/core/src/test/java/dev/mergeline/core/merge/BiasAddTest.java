package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BiasAddTest {
    private static ByteBuffer buffer(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void roundsTheBaseThenAddsTheScaledBiasInFp32() {
        ByteBuffer base = buffer(2);
        FloatBits.put(base, DType.F16, 0, 1.0f);
        ByteBuffer bias = buffer(4).putFloat(0, 0x1p-12f);
        ByteBuffer out = buffer(2);
        // 1 + 3·2⁻¹² in fp32, then rounded to bf16 (8 bits of mantissa): 1.0
        BiasAdd.apply(base, DType.F16, bias, 3f, out, DType.BF16, 1);
        assertEquals(1.0f, FloatBits.get(out, DType.BF16, 0));
        ByteBuffer wide = buffer(4);
        BiasAdd.apply(base, DType.F16, bias, 3f, wide, DType.F32, 1);
        assertEquals(1.0f + 3 * 0x1p-12f, FloatBits.get(wide, DType.F32, 0));
    }

    @Test
    void equalsTheReferenceLowRankMergeOfOneRow() {
        SplittableRandom random = new SplittableRandom(7);
        int n = 1000;
        ByteBuffer base = buffer(n * 2);
        ByteBuffer bias = buffer(n * 4);
        for (int j = 0; j < n; j++) {
            FloatBits.put(base, DType.BF16, j, (float) random.nextGaussian());
            bias.putFloat(j * 4, (float) random.nextGaussian() * 0.01f);
        }
        float scale = 0.37f;
        ByteBuffer one = buffer(4).putFloat(0, 1.0f);
        for (DType outType : new DType[] {DType.BF16, DType.F16, DType.F32}) {
            ByteBuffer expected = buffer(n * outType.byteSize());
            new ReferenceMergeKernel().lowRank(new LowRankBlock(base, DType.BF16, outType, one, bias, 1, n, 1, scale,
                    LowRankBlock.DeltaRounding.FUSED, null, expected));
            ByteBuffer out = buffer(n * outType.byteSize());
            BiasAdd.apply(base, DType.BF16, bias, scale, out, outType, n);
            assertEquals(-1, expected.mismatch(out), outType.toString());
        }
    }

    @Test
    void refusesBuffersOfTheWrongSize() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> BiasAdd.apply(buffer(4), DType.BF16, buffer(4), 1f, buffer(4), DType.BF16, 2));
        assertEquals("bias holds 4 bytes, expected 8", e.getMessage());
    }
}
