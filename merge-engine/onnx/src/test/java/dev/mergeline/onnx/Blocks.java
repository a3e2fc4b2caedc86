package dev.mergeline.onnx;

import dev.mergeline.core.merge.FloatBits;
import dev.mergeline.core.merge.LowRankBlock;
import dev.mergeline.core.merge.LowRankBlock.DeltaRounding;
import dev.mergeline.core.merge.LowRankBlock.Dora;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.function.DoubleSupplier;

/** Test data: the inputs of a low-rank block as values, turned into buffers on demand. */
record Blocks(DType baseType, DType outType, DeltaRounding rounding, Mode mode, int rows, int cols, int rank,
        float[] base, float[] left, float[] right, float scale, float[] magnitude) {

    /** What kind of merge a test block exercises. */
    enum Mode {
        FUSED,
        DELTA_FIRST,
        DORA_ROW,
        DORA_COLUMN;

        DeltaRounding rounding() {
            return this == DELTA_FIRST ? DeltaRounding.DELTA_FIRST : DeltaRounding.FUSED;
        }

        boolean dora() {
            return this == DORA_ROW || this == DORA_COLUMN;
        }
    }

    static final DType[] TYPES = {DType.F32, DType.F16, DType.BF16};

    /**
     * Realistic random values: |base| in [0.5, 2) with random sign (so w + d never cancels), a delta
     * of a few hundredths, magnitudes in [0.5, 2).
     */
    static Blocks random(Random random, DType baseType, DType outType, Mode mode, int rows, int cols, int rank) {
        DoubleSupplier base = () -> (random.nextBoolean() ? 1 : -1) * (0.5 + 1.5 * random.nextDouble());
        DoubleSupplier factor = () -> random.nextGaussian() * 0.2;
        float scale = 2.0f / rank * (0.5f + random.nextFloat());
        return of(baseType, outType, mode, rows, cols, rank, base, factor, factor, scale,
                () -> 0.5 + 1.5 * random.nextDouble());
    }

    /**
     * Values on coarse binary grids, so every fp32 sum and product in the merge is exact and any
     * two correct implementations must agree bit for bit: base k·2^-10 (|k| < 2048, exact in f16,
     * rounded in bf16), left i·2^-4 and right j·2^-5 (|i|, |j| ≤ 8), scale 2^-4. Then w + d is a
     * multiple of 2^-13 below 4: 15 significant bits, exact in fp32, and it lands on 16-bit ties
     * often.
     */
    static Blocks exact(Random random, DType baseType, DType outType, Mode mode, int rows, int cols, int rank) {
        return of(baseType, outType, mode, rows, cols, rank,
                () -> (random.nextInt(4095) - 2047) * 0x1p-10,
                () -> (random.nextInt(17) - 8) * 0x1p-4,
                () -> (random.nextInt(17) - 8) * 0x1p-5,
                0x1p-4f,
                () -> (1 + random.nextInt(64)) * 0x1p-5);
    }

    private static Blocks of(DType baseType, DType outType, Mode mode, int rows, int cols, int rank,
            DoubleSupplier base, DoubleSupplier left, DoubleSupplier right, float scale, DoubleSupplier magnitude) {
        float[] b = fill(rows * cols, base);
        for (int i = 0; i < b.length; i++) {
            b[i] = FloatBits.round(b[i], baseType); // representable in the base type
        }
        float[] m = mode.dora() ? fill(mode == Mode.DORA_COLUMN ? cols : rows, magnitude) : null;
        return new Blocks(baseType, outType, mode.rounding(), mode, rows, cols, rank,
                b, fill(rows * rank, left), fill(rank * cols, right), scale, m);
    }

    private static float[] fill(int n, DoubleSupplier values) {
        float[] result = new float[n];
        for (int i = 0; i < n; i++) {
            result[i] = (float) values.getAsDouble();
        }
        return result;
    }

    /** The same blocks with another scale. */
    Blocks withScale(float newScale) {
        return new Blocks(baseType, outType, rounding, mode, rows, cols, rank, base, left, right, newScale, magnitude);
    }

    /** The block over fresh direct buffers, with a fresh direct output buffer. */
    LowRankBlock block() {
        return block(direct(encode(base, baseType)), direct(encode(left, DType.F32)),
                direct(encode(right, DType.F32)), magnitude == null ? null : direct(encode(magnitude, DType.F32)),
                ByteBuffer.allocateDirect(rows * cols * outType.byteSize()));
    }

    LowRankBlock block(ByteBuffer baseBuffer, ByteBuffer leftBuffer, ByteBuffer rightBuffer,
            ByteBuffer magnitudeBuffer, ByteBuffer out) {
        Dora dora = magnitude == null ? null : new Dora(magnitudeBuffer, mode == Mode.DORA_COLUMN);
        return new LowRankBlock(baseBuffer, baseType, outType, leftBuffer, rightBuffer,
                rows, cols, rank, scale, rounding, dora, out);
    }

    @Override
    public String toString() {
        return baseType + "->" + outType + " " + mode + " " + rows + "x" + cols + " r" + rank;
    }

    /** Little-endian bytes of {@code values} in {@code type}. */
    static byte[] encode(float[] values, DType type) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * type.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            FloatBits.put(buffer, type, i, values[i]);
        }
        return buffer.array();
    }

    static ByteBuffer direct(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length);
        buffer.put(bytes).flip();
        return buffer;
    }
}
