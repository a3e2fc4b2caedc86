package dev.mergeline.core.merge;

import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * One block of rows of a low-rank merge, {@code W' = W + scale·(L@R)}, with PEFT's rounding.
 *
 * <p>Let {@code w = fp32(round_out(base))} (the base is first rounded to {@code outType}, as loading
 * it with {@code torch_dtype=outType} does; no-op when the types agree) and {@code d = fp32(scale)
 * · (L@R)} computed in fp32. Then, by {@link DeltaRounding}:
 * <ul>
 *   <li>{@code FUSED} (Linear, Conv1D, lora bias): {@code out = round_out(w + d)};
 *   <li>{@code DELTA_FIRST} (Embedding): {@code out = round_out(w + fp32(round_out(d)))};
 * </ul>
 * and with {@link Dora} (DoRA, FUSED only): {@code v = w + d}, {@code out = round_out((m / ‖v‖) · v)}
 * where the L2 norm runs over each row ({@code perColumn=false}, one magnitude per row) or over each
 * column ({@code perColumn=true}, one magnitude per column; the block must then hold all rows).
 *
 * @param base rows×cols elements of {@code baseType}
 * @param baseType F32, F16 or BF16
 * @param outType F32, F16 or BF16; type of {@code out}
 * @param left rows×rank fp32 values (row-major)
 * @param right rank×cols fp32 values (row-major)
 * @param scale the LoRA scaling, already rounded to fp32
 * @param dora DoRA magnitudes, or null for plain LoRA
 * @param out receives rows×cols elements of {@code outType}
 */
public record LowRankBlock(
        ByteBuffer base,
        DType baseType,
        DType outType,
        ByteBuffer left,
        ByteBuffer right,
        int rows,
        int cols,
        int rank,
        float scale,
        DeltaRounding rounding,
        Dora dora,
        ByteBuffer out) {

    /** How the delta is rounded before it meets the base weight. */
    public enum DeltaRounding {
        FUSED,
        DELTA_FIRST
    }

    /**
     * DoRA magnitude vector, fp32.
     *
     * @param magnitude one value per row, or per column when {@code perColumn}
     * @param perColumn true for fan-in-fan-out layers (GPT-2 Conv1D), whose stored weight is transposed
     */
    public record Dora(ByteBuffer magnitude, boolean perColumn) {
        public Dora {
            Objects.requireNonNull(magnitude, "magnitude");
        }
    }

    public LowRankBlock {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(left, "left");
        Objects.requireNonNull(right, "right");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(rounding, "rounding");
        if (!baseType.isMergeable() || !outType.isMergeable()) {
            throw new IllegalArgumentException("unsupported types " + baseType + " -> " + outType);
        }
        if (rows < 0 || cols < 0 || rank < 1) {
            throw new IllegalArgumentException("bad block shape rows=" + rows + " cols=" + cols + " rank=" + rank);
        }
        long elements = Math.multiplyExact((long) rows, cols);
        BufferSizes.requireBytes("base", base, Math.multiplyExact(elements, baseType.byteSize()));
        BufferSizes.requireBytes("out", out, Math.multiplyExact(elements, outType.byteSize()));
        BufferSizes.requireBytes("left", left, Math.multiplyExact(Math.multiplyExact((long) rows, rank), 4L));
        BufferSizes.requireBytes("right", right, Math.multiplyExact(Math.multiplyExact((long) rank, cols), 4L));
        if (dora != null) {
            if (rounding != DeltaRounding.FUSED) {
                throw new IllegalArgumentException("DoRA blocks use FUSED rounding");
            }
            BufferSizes.requireBytes("magnitude", dora.magnitude(), 4L * (dora.perColumn() ? cols : rows));
        }
    }

    public long elements() {
        return (long) rows * cols;
    }
}
