package dev.mergeline.core.merge;

import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Plain-Java {@link MergeKernel}: the executable specification of {@link LowRankBlock}'s rounding.
 *
 * <p>Every step is an IEEE fp32 operation in the order the spec gives: {@code L@R} is accumulated
 * in fp32 in increasing k (no FMA: Java float arithmetic rounds each multiply and add), then
 * multiplied by the scale; 16-bit rounding goes through {@link FloatBits}. DoRA norms accumulate
 * the (exact) fp32 squares in double and round the square root to fp32 once, matching an
 * accurate fp32 {@code torch.linalg.norm}. Stateless and thread-safe.
 */
public final class ReferenceMergeKernel implements MergeKernel {

    @Override
    public String executionProvider() {
        return "java";
    }

    @Override
    public void lowRank(LowRankBlock block) {
        int rows = block.rows();
        int cols = block.cols();
        if (rows == 0 || cols == 0) {
            return;
        }
        float[] left = floats(block.left(), rows * block.rank());
        float[] right = floats(block.right(), block.rank() * cols);
        ByteBuffer base = littleEndian(block.base());
        ByteBuffer out = littleEndian(block.out());
        RowMerger merger = new RowMerger(block, base, left, right);
        LowRankBlock.Dora dora = block.dora();
        float[] v = new float[cols];
        if (dora == null) {
            for (int i = 0; i < rows; i++) {
                merger.mergedRow(i, v);
                write(out, block.outType(), i * cols, v);
            }
        } else if (!dora.perColumn()) {
            float[] magnitude = floats(dora.magnitude(), rows);
            for (int i = 0; i < rows; i++) {
                merger.mergedRow(i, v);
                double sumOfSquares = 0;
                for (float x : v) {
                    sumOfSquares += (double) x * x;
                }
                float factor = magnitude[i] / (float) Math.sqrt(sumOfSquares);
                for (int j = 0; j < cols; j++) {
                    v[j] = factor * v[j];
                }
                write(out, block.outType(), i * cols, v);
            }
        } else {
            // Two passes over identical v rows: column norms first, then the output. Recomputing
            // v keeps memory at one row instead of the whole block.
            float[] magnitude = floats(dora.magnitude(), cols);
            double[] sumOfSquares = new double[cols];
            for (int i = 0; i < rows; i++) {
                merger.mergedRow(i, v);
                for (int j = 0; j < cols; j++) {
                    sumOfSquares[j] += (double) v[j] * v[j];
                }
            }
            float[] factor = new float[cols];
            for (int j = 0; j < cols; j++) {
                factor[j] = magnitude[j] / (float) Math.sqrt(sumOfSquares[j]);
            }
            for (int i = 0; i < rows; i++) {
                merger.mergedRow(i, v);
                for (int j = 0; j < cols; j++) {
                    v[j] = factor[j] * v[j];
                }
                write(out, block.outType(), i * cols, v);
            }
        }
    }

    @Override
    public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
        requireMergeable(from);
        requireMergeable(to);
        BufferSizes.requireBytes("in", in, (long) elements * from.byteSize());
        BufferSizes.requireBytes("out", out, (long) elements * to.byteSize());
        if (from == to) {
            out.duplicate().put(in.duplicate()); // bit copy, NaN payloads included
            return;
        }
        for (int i = 0; i < elements; i++) {
            FloatBits.put(out, to, i, FloatBits.get(in, from, i));
        }
    }

    @Override
    public void close() {}

    /** Computes {@code v = w + d} for one row, with the block's rounding, before DoRA and output rounding. */
    private static final class RowMerger {
        private final LowRankBlock block;
        private final ByteBuffer base;
        private final float[] left;
        private final float[] right;
        private final float[] product;

        RowMerger(LowRankBlock block, ByteBuffer base, float[] left, float[] right) {
            this.block = block;
            this.base = base;
            this.left = left;
            this.right = right;
            this.product = new float[block.cols()];
        }

        void mergedRow(int row, float[] v) {
            int cols = block.cols();
            int rank = block.rank();
            DType outType = block.outType();
            java.util.Arrays.fill(product, 0f);
            for (int k = 0; k < rank; k++) { // k-outer keeps each element's sum in increasing k
                float l = left[row * rank + k];
                int rightRow = k * cols;
                for (int j = 0; j < cols; j++) {
                    product[j] += l * right[rightRow + j];
                }
            }
            boolean deltaFirst = block.rounding() == LowRankBlock.DeltaRounding.DELTA_FIRST;
            float scale = block.scale();
            int first = row * cols;
            for (int j = 0; j < cols; j++) {
                float w = FloatBits.round(FloatBits.get(base, block.baseType(), first + j), outType);
                float d = product[j] * scale;
                if (deltaFirst) {
                    d = FloatBits.round(d, outType);
                }
                v[j] = w + d;
            }
        }
    }

    private static void write(ByteBuffer out, DType type, int first, float[] values) {
        for (int j = 0; j < values.length; j++) {
            FloatBits.put(out, type, first + j, values[j]);
        }
    }

    private static float[] floats(ByteBuffer buffer, int count) {
        float[] values = new float[count];
        littleEndian(buffer).asFloatBuffer().get(values);
        return values;
    }

    /** A little-endian view of {@code buffer}'s remaining bytes; the caller's position is untouched. */
    private static ByteBuffer littleEndian(ByteBuffer buffer) {
        return buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void requireMergeable(DType type) {
        if (!type.isMergeable()) {
            throw new IllegalArgumentException("convert supports F32, F16 and BF16, not " + type);
        }
    }
}
