package dev.mergeline.core.quant;

import dev.mergeline.core.merge.FloatBits;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * FP8 block scaling (transformers' FineGrainedFP8, the DeepSeek-V3 layout): a weight [rows, cols]
 * stored as {@code F8_E4M3} with a {@code weight_scale_inv} grid F32 [⌈rows/bm⌉, ⌈cols/bn⌉], one
 * value per block of bm rows and bn columns; the weight's value is {@code fp8 × scale_inv} of its
 * block. The arithmetic is transformers 5.17's {@code Fp8Dequantize} and {@code Fp8Quantize}, step
 * by step in fp32. Buffers are little-endian; positions and limits are not changed.
 *
 * @param blockRows bm, rows per block
 * @param blockCols bn, columns per block
 */
public record Fp8BlockScaling(int blockRows, int blockCols) {

    public Fp8BlockScaling {
        if (blockRows < 1 || blockCols < 1) {
            throw new IllegalArgumentException("block size must be positive: [" + blockRows + ", " + blockCols + "]");
        }
    }

    /** Rows of the scale grid of a weight with {@code rows} rows. */
    public long gridRows(long rows) {
        return Math.floorDiv(Math.addExact(rows, blockRows - 1), blockRows);
    }

    /** Columns of the scale grid of a weight with {@code cols} columns. */
    public long gridCols(long cols) {
        return Math.floorDiv(Math.addExact(cols, blockCols - 1), blockCols);
    }

    /**
     * The value of rows {@code [row0, row0 + n)} of the weight, rounded to {@code outType}:
     * {@code (fp8.float() * scale_inv).to(outType)}.
     *
     * @param fp8 the n × cols stored bytes of these rows
     * @param scaleInv the weight's whole scale grid, row-major
     * @param out receives n × cols values of {@code outType}
     */
    public void dequantize(ByteBuffer fp8, FloatBuffer scaleInv, int row0, int n, int cols, ByteBuffer out,
            DType outType) {
        int gridCols = (int) gridCols(cols);
        int in0 = fp8.position();
        boolean bf16 = outType == DType.BF16 && out.order() == java.nio.ByteOrder.LITTLE_ENDIAN;
        for (int i = 0; i < n; i++) {
            int gridRow = (row0 + i) / blockRows * gridCols;
            int base = i * cols;
            for (int c0 = 0; c0 < cols; c0 += blockCols) {
                float s = scaleInv.get(gridRow + c0 / blockCols);
                int end = Math.min(cols, c0 + blockCols);
                for (int j = base + c0; j < base + end; j++) {
                    float value = Fp8E4m3.decode(fp8.get(in0 + j)) * s;
                    if (bf16) {
                        out.putShort(out.position() + 2 * j, FloatBits.floatToBf16(value));
                    } else {
                        FloatBits.put(out, outType, j, value);
                    }
                }
            }
        }
    }

    /**
     * Quantizes rows {@code [row0, row0 + n)} of a weight given as {@code inType} values, where
     * {@code row0} starts a block row and {@code n} covers whole block rows (or runs to the
     * weight's last row): per block {@code amax = max|w|}, {@code scale = 448 · (1/amax)} (torch's
     * {@code 448 / t} is {@code t.reciprocal() * 448}), 1 where amax is 0; {@code scale_inv = 1/scale};
     * {@code q = e4m3(clamp(w · scale, ±448))}.
     *
     * @param in n × cols values of {@code inType}
     * @param out receives the n × cols fp8 bytes
     * @param scaleInv the weight's whole scale grid, row-major; the block rows covered are written
     */
    public void quantize(ByteBuffer in, DType inType, int row0, int n, int cols, ByteBuffer out, float[] scaleInv) {
        quantize(in, inType, row0, n, cols, out, scaleInv, new float[Math.multiplyExact(n, cols)]);
    }

    /** {@link #quantize(ByteBuffer, DType, int, int, int, ByteBuffer, float[])} with a caller's work array of at least n × cols. */
    public void quantize(ByteBuffer in, DType inType, int row0, int n, int cols, ByteBuffer out, float[] scaleInv,
            float[] work) {
        if (row0 % blockRows != 0) {
            throw new IllegalArgumentException("row " + row0 + " does not start a block of " + blockRows + " rows");
        }
        float[] w = work;
        int count = Math.multiplyExact(n, cols);
        if (inType == DType.BF16 && in.order() == java.nio.ByteOrder.LITTLE_ENDIAN) {
            for (int k = 0, at = in.position(); k < count; k++, at += 2) {
                w[k] = FloatBits.bf16ToFloat(in.getShort(at));
            }
        } else {
            for (int k = 0; k < count; k++) {
                w[k] = FloatBits.get(in, inType, k);
            }
        }
        int gridCols = (int) gridCols(cols);
        int out0 = out.position();
        for (int r0 = 0; r0 < n; r0 += blockRows) {
            int rowEnd = Math.min(n, r0 + blockRows);
            int gridRow = (row0 + r0) / blockRows;
            for (int c0 = 0; c0 < cols; c0 += blockCols) {
                int colEnd = Math.min(cols, c0 + blockCols);
                float amax = 0f;
                for (int i = r0; i < rowEnd; i++) {
                    for (int k = i * cols + c0; k < i * cols + colEnd; k++) {
                        float v = Math.abs(w[k]);
                        amax = v > amax || Float.isNaN(v) ? v : amax;
                    }
                }
                float scale = amax > 0f ? (1f / amax) * Fp8E4m3.MAX : 1f;
                scaleInv[gridRow * gridCols + c0 / blockCols] = 1f / scale;
                for (int i = r0; i < rowEnd; i++) {
                    for (int k = i * cols + c0; k < i * cols + colEnd; k++) {
                        float scaled = w[k] * scale;
                        float clamped = Float.isNaN(scaled) ? scaled : Math.max(-Fp8E4m3.MAX, Math.min(Fp8E4m3.MAX, scaled));
                        out.put(out0 + k, Fp8E4m3.encode(clamped));
                    }
                }
            }
        }
    }

    /**
     * Refuses a scale grid holding NaN, an infinity or a negative value ({@code BASE_QUANTIZED},
     * detail {@code INVALID_SCALE}), naming the tensor and the first offending element.
     */
    public static void requireValidScales(String tensor, FloatBuffer scaleInv) throws RejectedException {
        for (int i = 0; i < scaleInv.limit(); i++) {
            float s = scaleInv.get(i);
            if (!Float.isFinite(s) || s < 0f || (s == 0f && 1f / s < 0f)) {
                throw new RejectedException(new Reason(ReasonCode.BASE_QUANTIZED, "scale " + tensor + " holds " + s
                        + " at element " + i + "; a block scale must be a finite, non-negative number", tensor,
                        "finite values >= 0", String.valueOf(s), "INVALID_SCALE"));
            }
        }
    }
}
