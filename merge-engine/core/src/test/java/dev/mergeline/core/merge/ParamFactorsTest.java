package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.core.plan.ParamSlice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link ParamFactors} against PEFT's own statement of a ParamWrapper delta ({@code get_delta_weight}: A reshaped to
 * (E, r, in), B to (out, r, E), {@code einsum("o r e, e r i -> e o i")}, or {@code "e i o"} when the parameter is
 * stored transposed), computed here element by element in double.
 */
class ParamFactorsTest {
    private static final int E = 3;
    private static final int R = 2;
    private static final int IN = 5;
    private static final int OUT = 7;

    @ParameterizedTest(name = "expert {0}, transposed parameter {1}, rows {2}+{3}, cols {4}+{5}, on disk transposed {6}")
    @CsvSource({
        "0, false, 0, 7, 0, 5, false", // a whole expert of [E, out, in] (Mixtral down_proj)
        "1, false, 3, 4, 0, 5, false", // the second of two concatenated blocks (Mixtral w3 of gate_up_proj)
        "2, false, 0, 7, 1, 3, false", // a block of columns
        "1, true, 0, 5, 0, 7, false", // [E, in, out] (gpt-oss)
        "2, false, 0, 3, 0, 5, true", // a block stored transposed (qwen3_vl_moe)
        "0, true, 1, 2, 2, 4, true",
    })
    void factorsGiveTheExpertsSliceOfPeftsDelta(int expert, boolean transposedParameter, int firstRow, int rows,
            int firstCol, int cols, boolean transposedOnDisk) {
        SplittableRandom random = new SplittableRandom(7);
        float[] a = new float[R * E * IN];
        float[] b = new float[OUT * R * E];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) random.nextGaussian();
        }
        ParamSlice slice = new ParamSlice(E, expert, transposedParameter, firstRow, rows, firstCol, cols, transposedOnDisk);
        ParamFactors f = ParamFactors.of(buffer(a), buffer(b), R, slice, expert);
        int outRows = slice.rowsPerExpert();
        int outCols = slice.columns();
        assertEquals(outRows * R * 4, f.left().remaining());
        assertEquals(R * outCols * 4, f.right().remaining());
        for (int i = 0; i < outRows; i++) {
            for (int j = 0; j < outCols; j++) {
                double product = 0;
                for (int k = 0; k < R; k++) {
                    product += (double) f.left().getFloat(4 * (i * R + k)) * f.right().getFloat(4 * (k * outCols + j));
                }
                int row = transposedOnDisk ? firstRow + j : firstRow + i;
                int col = transposedOnDisk ? firstCol + i : firstCol + j;
                assertEquals(peftDelta(a, b, expert, transposedParameter, row, col), product, 1e-9, i + "," + j);
            }
        }
    }

    /** delta[e, d1, d2] as PEFT's einsum defines it. */
    private static double peftDelta(float[] a, float[] b, int e, boolean transposedParameter, int d1, int d2) {
        int o = transposedParameter ? d2 : d1;
        int in = transposedParameter ? d1 : d2;
        double sum = 0;
        for (int k = 0; k < R; k++) {
            // weight_B.reshape(out, r, E)[o, k, e] and weight_A.reshape(E, r, in)[e, k, i]
            sum += (double) b[o * R * E + k * E + e] * a[(e * R + k) * IN + in];
        }
        return sum;
    }

    private static ByteBuffer buffer(float[] values) {
        ByteBuffer out = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            out.putFloat(v);
        }
        return out.flip();
    }
}
