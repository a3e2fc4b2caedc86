package dev.mergeline.core.plan;

import dev.mergeline.safetensors.DType;
import java.util.List;

/** How one output tensor is produced. */
public sealed interface TensorOp {

    /** The source tensor, copied (or converted when the output dtype differs). */
    TensorSource source();

    /** What is done to the weight's value: this op, or the op an {@link Fp8Block} applies. */
    default TensorOp unwrapped() {
        return this;
    }

    /** Copy or dtype-convert {@code source} unchanged in value. */
    record Copy(TensorSource source) implements TensorOp {}

    /**
     * {@code W' = W + scale·ΔW} for a LoRA pair; with {@code magnitude}, DoRA.
     *
     * @param source the weight W
     * @param kind orientation and rounding of the delta
     * @param loraA adapter tensor A ({@code lora_A.weight} or {@code lora_embedding_A})
     * @param loraB adapter tensor B
     * @param rank the rank r
     * @param scale alpha/r or alpha/√r, in fp32
     * @param magnitude DoRA magnitude vector in the adapter, or null
     * @param parameter for {@link ModuleKind#PARAMETER}: which part of the wrapped parameter's delta this tensor
     *     holds; null otherwise
     */
    record LowRank(TensorSource source, ModuleKind kind, String loraA, String loraB, int rank, float scale,
            String magnitude, ParamSlice parameter) implements TensorOp {

        public LowRank {
            if ((kind == ModuleKind.PARAMETER) != (parameter != null)) {
                throw new IllegalArgumentException("a parameter slice goes with ModuleKind.PARAMETER only");
            }
        }

        /** A LoRA pair on a module (Linear, Conv1D, Embedding). */
        public LowRank(TensorSource source, ModuleKind kind, String loraA, String loraB, int rank, float scale,
                String magnitude) {
            this(source, kind, loraA, loraB, rank, scale, magnitude, null);
        }
    }

    /** {@code b' = b + scale·lora_B.bias} ({@code lora_bias=True}). */
    record AddBias(TensorSource source, String loraBBias, float scale) implements TensorOp {}

    /**
     * {@code W' = W} with row {@code indices[k]} replaced by row k of {@code rows}, rounded to the
     * output dtype ({@code trainable_token_indices}: PEFT's {@code index_copy} of
     * {@code trainable_tokens_delta}).
     *
     * @param source the weight W
     * @param rows adapter tensor [indices.size(), columns]
     * @param indices distinct row indices of W, in the order of the rows of {@code rows}
     */
    record ReplaceRows(TensorSource source, String rows, List<Integer> indices) implements TensorOp {
        public ReplaceRows {
            indices = List.copyOf(indices);
        }
    }

    /**
     * A weight stored as FP8 with a block scale grid ({@code docs/quantized-bases.md}): dequantized
     * to {@code workType} as transformers loads it, {@code op} ({@link LowRank} or {@link Copy})
     * applied in {@code workType}, then re-quantized when the planned dtype is F8_E4M3.
     *
     * @param scaleInv the base's {@code weight_scale_inv} tensor of this weight
     */
    record Fp8Block(TensorOp op, String scaleInv, int blockRows, int blockCols, DType workType) implements TensorOp {
        @Override
        public TensorSource source() {
            return op.source();
        }

        @Override
        public TensorOp unwrapped() {
            return op;
        }
    }

    /**
     * The {@code weight_scale_inv} of a re-quantized FP8 weight, computed with it; planned right
     * after {@code weight}.
     *
     * @param source the base's scale grid (its shape and dtype)
     */
    record Fp8Scales(TensorSource source, String weight) implements TensorOp {}
}
