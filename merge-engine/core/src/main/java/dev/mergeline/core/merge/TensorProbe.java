package dev.mergeline.core.merge;

import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Checks the merged bytes of one low-rank tensor against the adapter, block by block, as they leave
 * the kernel for the writer: for {@value #PROBES} pseudo-random sign vectors x (±1, seeded by the
 * verification seed and the tensor's name), each row's {@code W'x} must equal
 * {@code Wx + s·L(Rx)} (computed in fp64 from the base row and the LoRA factors) within what the
 * output dtype's rounding explains. With DoRA, each output feature's norm must equal its magnitude,
 * and (per-row DoRA) each row's {@code W'x} must be one common multiple of {@code Wx + s·L(Rx)}
 * for both probes.
 *
 * <p>Why the bound holds for a correct merge: every output element is a rounding of its exact value,
 * off by at most {@code u·|W'ᵢⱼ|} (u: the output dtype's unit roundoff), plus the fp32 error of the
 * delta. With random signs, Hoeffding's inequality bounds {@code |Σⱼ eⱼxⱼ|} by {@code k·‖e‖} except
 * with probability {@code 2·exp(−k²/2)}; with {@code ‖e‖ ≤ u·‖W'ᵢ‖ + δ} and k = {@value #SIGMAS}
 * that is below 10⁻²¹ per row and probe. A block of wrong numbers, by contrast, is off by about
 * {@code ‖W'ᵢ‖} itself — a factor 1/(k·u) ≈ 25 (bf16) to 10⁵ (fp32) above the bound. Single
 * low-order bit flips within the rounding error are not detected; exponent flips are.
 *
 * <p>Rows checked: every row of a block of at most {@value #ROWS_PER_BLOCK} rows, else
 * {@value #ROWS_PER_BLOCK} rows spread evenly over the block from a seeded offset, so every block
 * the kernel produced is checked; per-column DoRA norms use every row. Cost: three multiply-adds per
 * checked element on bytes already in memory, no second read of the output; the byte comparison
 * with the base ({@code unchanged}) covers every element.
 */
final class TensorProbe {

    /** Probe vectors per tensor. */
    static final int PROBES = 2;
    /** Standard deviations of the rounding error allowed before a residual is a failure. */
    static final double SIGMAS = 10;
    /** Rows checked per block (at most). */
    static final int ROWS_PER_BLOCK = 16;

    private final String tensor;
    private final int rows;
    private final int cols;
    private final int rank;
    private final double scale;
    private final DType outType;
    private final float[][] x;
    private final double[][] rx;
    private final double[] rowNorms;
    private final ByteBuffer left;
    private final ByteBuffer magnitude;
    private final boolean perColumnDora;
    private final double[] columnSquares;
    private final float[] outRow;
    private final float[] baseRow;
    /** One row of 16-bit values, as stored. */
    private final short[] halves;
    private final int rowOffset;
    private double maxRelative;
    private boolean unchanged = true;

    /**
     * @param left rows×rank fp32 (the factor multiplied on the left, scale not applied)
     * @param right rank×cols fp32
     * @param magnitude DoRA magnitudes (per row, or per column when {@code perColumnDora}), or null
     */
    TensorProbe(String seed, String tensor, int rows, int cols, int rank, float scale, DType outType,
            ByteBuffer left, ByteBuffer right, ByteBuffer magnitude, boolean perColumnDora) {
        this.tensor = tensor;
        this.rows = rows;
        this.cols = cols;
        this.rank = rank;
        this.scale = scale;
        this.outType = outType;
        this.left = left.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.magnitude = magnitude == null ? null : magnitude.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.perColumnDora = perColumnDora;
        this.columnSquares = magnitude != null && perColumnDora ? new double[cols] : null;
        this.outRow = new float[cols];
        this.baseRow = new float[cols];
        this.halves = new short[cols];
        SplittableRandom random = new SplittableRandom(seedOf(seed, tensor));
        rowOffset = random.nextInt(1 << 20);
        x = new float[PROBES][cols];
        for (float[] probe : x) {
            for (int c = 0; c < cols; c++) {
                probe[c] = random.nextBoolean() ? 1f : -1f;
            }
        }
        ByteBuffer r = right.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        rx = new double[PROBES][rank];
        rowNorms = new double[rank];
        for (int k = 0; k < rank; k++) {
            double squares = 0;
            for (int c = 0; c < cols; c++) {
                float v = r.getFloat(r.position() + 4 * (k * cols + c));
                squares += (double) v * v;
                for (int p = 0; p < PROBES; p++) {
                    rx[p][k] += v * x[p][c];
                }
            }
            rowNorms[k] = Math.sqrt(squares);
        }
    }

    /** Unit roundoff of an output dtype: half its ulp at 1. */
    static double unitRoundoff(DType type) {
        return switch (type) {
            case BF16 -> 0x1p-8;
            case F16 -> 0x1p-11;
            default -> 0x1p-24;
        };
    }

    /**
     * Checks rows {@code row0 .. row0+n} of the merged tensor.
     *
     * @param base the block's base values, {@code baseType}, as read
     * @param out the block's merged values, {@code outType}, as handed to the writer
     * @throws VerificationFailedException when a residual exceeds the rounding bound
     */
    void checkBlock(ByteBuffer base, DType baseType, ByteBuffer out, int row0, int n) {
        if (baseType == outType && unchanged && base.remaining() == out.remaining()) {
            unchanged = base.mismatch(out) == -1;
        } else if (baseType != outType) {
            unchanged = false;
        }
        double u = unitRoundoff(outType);
        double fp32 = (2.0 * rank + 8) * 0x1p-24;
        boolean everyRow = n <= ROWS_PER_BLOCK || columnSquares != null;
        int checked = everyRow ? n : ROWS_PER_BLOCK;
        for (int j = 0; j < checked; j++) {
            int i = everyRow ? j : (int) ((rowOffset % n + (long) j * n / ROWS_PER_BLOCK) % n);
            int row = row0 + i;
            decodeRow(out, outType, i, outRow);
            decodeRow(base, baseType, i, baseRow);
            if (baseType != outType) {
                for (int c = 0; c < cols; c++) {
                    baseRow[c] = FloatBits.round(baseRow[c], outType);
                }
            }
            double lr = 0;
            double[] lrx = new double[PROBES];
            for (int k = 0; k < rank; k++) {
                double l = left.getFloat(left.position() + 4 * (row * rank + k));
                lr += Math.abs(l) * rowNorms[k];
                for (int p = 0; p < PROBES; p++) {
                    lrx[p] += l * rx[p][k];
                }
            }
            double deltaBound = Math.abs(scale) * lr;
            if (magnitude == null) {
                checkLowRankRow(row, lrx, deltaBound, u, fp32);
            } else {
                checkDoraRow(row, lrx, deltaBound, u, fp32);
            }
        }
        if (columnSquares != null && row0 + n == rows) {
            checkColumnNorms(u);
        }
    }

    private void checkLowRankRow(int row, double[] lrx, double deltaBound, double u, double fp32) {
        float[] x0 = x[0];
        float[] x1 = x[1];
        double dx0 = 0;
        double dx1 = 0;
        double squares = 0;
        for (int c = 0; c < cols; c++) {
            double w = outRow[c];
            double d = w - baseRow[c];
            squares += w * w;
            dx0 += d * x0[c];
            dx1 += d * x1[c];
        }
        double[] dx = {dx0, dx1};
        double norm = Math.sqrt(squares);
        // Rounding of every output element (u·‖W'‖), of an embedding delta rounded first (u·|s|Σ|L||R|),
        // and the fp32 arithmetic of the delta.
        double sigma = u * norm + (u + fp32) * deltaBound + Double.MIN_NORMAL;
        for (int p = 0; p < PROBES; p++) {
            double residual = Math.abs(dx[p] - scale * lrx[p]);
            record(row, residual, norm, sigma, "W'x − (Wx + s·B(Ax)), probe " + p);
        }
    }

    private void checkDoraRow(int row, double[] lrx, double deltaBound, double u, double fp32) {
        double[] yOut = new double[PROBES];
        double[] yBase = new double[PROBES];
        double squares = 0;
        for (int c = 0; c < cols; c++) {
            float w = outRow[c];
            squares += w * w;
            if (perColumnDora) {
                columnSquares[c] += w * w;
            }
            for (int p = 0; p < PROBES; p++) {
                yOut[p] += w * x[p][c];
                yBase[p] += baseRow[c] * x[p][c];
            }
        }
        double norm = Math.sqrt(squares);
        if (perColumnDora) {
            return; // checked per column once every row has been seen
        }
        double m = Math.abs(magnitude.getFloat(magnitude.position() + 4 * row));
        // ‖W'ᵢ‖ = |mᵢ| up to the rounding of the elements and the fp32 norm.
        double normBound = (u + (cols + 2.0 * rank + 8) * 0x1p-24) * Math.max(norm, m) + Double.MIN_NORMAL;
        record(row, Math.abs(norm - m), Math.max(norm, m), normBound, "‖W'‖ − |magnitude|");
        // Direction: W'x = c·(Wx + s·B(Ax)) with one c for both probes.
        double[] ref = new double[PROBES];
        double dot = 0;
        double refSquares = 0;
        for (int p = 0; p < PROBES; p++) {
            ref[p] = yBase[p] + scale * lrx[p];
            dot += yOut[p] * ref[p];
            refSquares += ref[p] * ref[p];
        }
        double c = refSquares == 0 ? 0 : dot / refSquares;
        double sigma = u * norm + Math.abs(c) * (fp32 * (norm + deltaBound)) + Double.MIN_NORMAL;
        for (int p = 0; p < PROBES; p++) {
            record(row, Math.abs(yOut[p] - c * ref[p]), norm, sigma, "DoRA direction, probe " + p);
        }
    }

    private void checkColumnNorms(double u) {
        for (int c = 0; c < cols; c++) {
            double norm = Math.sqrt(columnSquares[c]);
            double m = Math.abs(magnitude.getFloat(magnitude.position() + 4 * c));
            double sigma = (u + (rows + 2.0 * rank + 8) * 0x1p-24) * Math.max(norm, m) + Double.MIN_NORMAL;
            record(c, Math.abs(norm - m), Math.max(norm, m), sigma, "column norm ‖W'[:, j]‖ − |magnitude|");
        }
    }

    private void record(int index, double residual, double scaleOfRow, double sigma, String what) {
        double relative = scaleOfRow == 0 ? residual : residual / scaleOfRow;
        if (!(residual <= SIGMAS * sigma)) {
            throw new VerificationFailedException(tensor, String.format(java.util.Locale.ROOT,
                    "%s: %s is %.3g at row/column %d, above the %.3g that %s rounding explains (relative %.3g)",
                    tensor, what, residual, index, SIGMAS * sigma, outType, relative));
        }
        maxRelative = Math.max(maxRelative, relative);
    }

    private void decodeRow(ByteBuffer block, DType type, int rowInBlock, float[] dst) {
        int first = rowInBlock * cols; // element index from the block's position
        ByteBuffer b = block.slice().order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> b.asFloatBuffer().get(first, dst, 0, cols);
            case BF16 -> {
                b.asShortBuffer().get(first, halves, 0, cols);
                for (int c = 0; c < cols; c++) {
                    dst[c] = Float.intBitsToFloat(halves[c] << 16);
                }
            }
            case F16 -> {
                b.asShortBuffer().get(first, halves, 0, cols);
                for (int c = 0; c < cols; c++) {
                    dst[c] = FloatBits.f16ToFloat(halves[c] & 0xFFFF);
                }
            }
            default -> throw new IllegalArgumentException("not a float type: " + type);
        }
    }

    /** The result for this tensor once every block has been checked. */
    VerificationEntry result() {
        return new VerificationEntry(tensor, magnitude == null ? "lora" : "dora", PROBES, maxRelative, unchanged);
    }

    private static long seedOf(String seed, String tensor) {
        long h = 0xcbf29ce484222325L;
        for (byte b : (seed + '\u0000' + tensor).getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        }
        return h;
    }
}
