package dev.mergeline.core.merge;

import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;

/**
 * A LoRA bias merged into the base bias as PEFT does ({@code lora_B.bias}, {@code lora_bias=True}):
 * {@code out = round_out(round_out(base) + scale·bias)}, each step an fp32 operation, the same rounding
 * as {@link LowRankBlock.DeltaRounding#FUSED}. A bias has one value per output feature (a few
 * thousand), so this runs in plain Java, not through the kernel.
 */
final class BiasAdd {
    private BiasAdd() {}

    /**
     * @param base {@code elements} values of {@code baseType}
     * @param bias {@code elements} fp32 values
     * @param scale the LoRA scaling, already rounded to fp32
     * @param out receives {@code elements} values of {@code outType}
     */
    static void apply(ByteBuffer base, DType baseType, ByteBuffer bias, float scale, ByteBuffer out, DType outType,
            int elements) {
        BufferSizes.requireBytes("base", base, (long) elements * baseType.byteSize());
        BufferSizes.requireBytes("bias", bias, (long) elements * 4);
        BufferSizes.requireBytes("out", out, (long) elements * outType.byteSize());
        for (int j = 0; j < elements; j++) {
            float w = FloatBits.round(FloatBits.get(base, baseType, j), outType);
            FloatBits.put(out, outType, j, w + FloatBits.get(bias, DType.F32, j) * scale);
        }
    }
}
