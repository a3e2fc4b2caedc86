package dev.mergeline.core.merge;

import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.plan.TensorOp;
import dev.mergeline.core.plan.TensorSource;
import dev.mergeline.core.quant.Fp8BlockScaling;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * One FP8 block-scaled weight being merged ({@link TensorOp.Fp8Block}): its scale grid, read and
 * checked once, and the conversions of its row blocks between the stored FP8 bytes and the
 * {@code workType} values the kernel merges. Blocks must start on a block row of the scaling.
 */
final class Fp8Weight {
    private final String name;
    private final Fp8BlockScaling scaling;
    private final DType workType;
    private final int cols;
    private final FloatBuffer scaleInv;
    /** The re-quantized weight's scale grid, filled block by block; null when the output is dequantized. */
    private final float[] newScaleInv;
    private ByteBuffer dequantized;
    private ByteBuffer merged;
    /** fp32 copy of the rows being re-quantized, reused across blocks. */
    private float[] work = new float[0];

    private Fp8Weight(String name, Fp8BlockScaling scaling, DType workType, int cols, FloatBuffer scaleInv,
            boolean requantize) {
        this.name = name;
        this.scaling = scaling;
        this.workType = workType;
        this.cols = cols;
        this.scaleInv = scaleInv;
        this.newScaleInv = requantize ? new float[scaleInv.limit()] : null;
    }

    /** Reads the scale grid of {@code t} from the base and refuses NaN, infinite or negative scales. */
    static Fp8Weight open(TensorStore store, PlannedTensor t, TensorOp.Fp8Block op) throws IOException, RejectedException {
        TensorStore.Located scale = store.locate(TensorSource.base(op.scaleInv()));
        FloatBuffer grid = scale.file().slice(scale.info(), 0, Math.toIntExact(scale.info().byteLength()))
                .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        Fp8BlockScaling.requireValidScales(op.scaleInv(), grid);
        return new Fp8Weight(t.name(), new Fp8BlockScaling(op.blockRows(), op.blockCols()), op.workType(),
                t.shape().get(1).intValue(), grid, t.dtype() == DType.F8_E4M3);
    }

    DType workType() {
        return workType;
    }

    /** Whether the output is FP8 again (else it is the dequantized {@code workType} values). */
    boolean requantizes() {
        return newScaleInv != null;
    }

    /** Rows {@code [row0, row0 + n)} dequantized into a scratch buffer of {@code workType}. */
    ByteBuffer dequantize(ByteBuffer fp8, int row0, int n) {
        dequantized = scratch(dequantized, n);
        scaling.dequantize(fp8, scaleInv, row0, n, cols, dequantized, workType);
        return dequantized;
    }

    /** Rows dequantized straight into {@code out} (an untouched weight in a dequantized output). */
    void dequantizeInto(ByteBuffer fp8, int row0, int n, ByteBuffer out) {
        scaling.dequantize(fp8, scaleInv, row0, n, cols, out, workType);
    }

    /** Where the kernel writes the merged rows: a scratch buffer when they are re-quantized, else {@code out}. */
    ByteBuffer mergedTarget(int n, ByteBuffer out) {
        if (!requantizes()) {
            return out;
        }
        merged = scratch(merged, n);
        return merged;
    }

    /** Re-quantizes the merged rows into {@code out}, recording their block scales. */
    void quantize(ByteBuffer mergedRows, int row0, int n, ByteBuffer out) {
        int count = Math.multiplyExact(n, cols);
        if (work.length < count) {
            work = new float[count];
        }
        scaling.quantize(mergedRows, workType, row0, n, cols, out, newScaleInv, work);
    }

    /** The re-quantized weight's {@code weight_scale_inv}, once every block is done. */
    float[] newScaleInv() {
        return newScaleInv;
    }

    String name() {
        return name;
    }

    private ByteBuffer scratch(ByteBuffer current, int rows) {
        int bytes = Math.multiplyExact(Math.multiplyExact(rows, cols), workType.byteSize());
        if (current == null || current.capacity() < bytes) {
            current = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }
        return current.clear().limit(bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
    }
}
