package dev.mergeline.core.merge;

import dev.mergeline.core.plan.ParamSlice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The low-rank factors of one expert's part of a {@code target_parameters} delta ({@link ParamSlice}), as the
 * {@code left} [rows, r] and {@code right} [r, cols] of a {@link LowRankBlock} for the on-disk tensor's layout.
 * Only the expert's r rows of A and r columns of B are gathered: memory is r·(rows + cols) floats per expert.
 *
 * @param left rows×r fp32, row-major, direct
 * @param right r×cols fp32, row-major, direct
 */
record ParamFactors(ByteBuffer left, ByteBuffer right) {

    /**
     * @param a {@code lora_A} [r·E, in], fp32
     * @param b {@code lora_B} [out, r·E], fp32
     * @param r the rank per expert
     * @param slice where the tensor sits in the parameter
     * @param expert the expert (0 ≤ expert < E)
     */
    static ParamFactors of(ByteBuffer a, ByteBuffer b, int r, ParamSlice slice, int expert) {
        int experts = slice.experts();
        int rankTotal = Math.multiplyExact(r, experts);
        FloatBuffer fa = a.duplicate().order(ByteOrder.LITTLE_ENDIAN).rewind().asFloatBuffer();
        FloatBuffer fb = b.duplicate().order(ByteOrder.LITTLE_ENDIAN).rewind().asFloatBuffer();
        int in = fa.remaining() / rankTotal;
        // B_e[o, k] = B[o, k·E + e]; A_e[k, i] = A[e·r + k, i]
        Factor bE = (o, k) -> fb.get(o * rankTotal + k * experts + expert);
        Factor aE = (k, i) -> fa.get((expert * r + k) * in + i);
        // D_e = L@R in the parameter's layout: [out, in] = B_e@A_e, or [in, out] = A_eᵀ@B_eᵀ (is_transposed)
        Factor l = slice.transposedParameter() ? (i, k) -> aE.at(k, i) : bE;
        Factor rr = slice.transposedParameter() ? (k, j) -> bE.at(j, k) : aE;
        int fr = slice.firstRow();
        int fc = slice.firstCol();
        if (!slice.transposedOnDisk()) {
            return new ParamFactors(fill(slice.rows(), r, (i, k) -> l.at(fr + i, k)),
                    fill(r, slice.cols(), (k, j) -> rr.at(k, fc + j)));
        }
        // (L@R)ᵀ = Rᵀ@Lᵀ
        return new ParamFactors(fill(slice.cols(), r, (j, k) -> rr.at(k, fc + j)),
                fill(r, slice.rows(), (k, i) -> l.at(fr + i, k)));
    }

    @FunctionalInterface
    private interface Factor {
        float at(int row, int col);
    }

    private static ByteBuffer fill(int rows, int cols, Factor f) {
        ByteBuffer out = ByteBuffer.allocateDirect(Math.multiplyExact(Math.multiplyExact(rows, cols), 4))
                .order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer o = out.asFloatBuffer();
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                o.put(i * cols + j, f.at(i, j));
            }
        }
        return out;
    }
}
