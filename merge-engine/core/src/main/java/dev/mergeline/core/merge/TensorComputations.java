package dev.mergeline.core.merge;

import dev.mergeline.core.plan.ModuleKind;
import dev.mergeline.core.plan.ParamSlice;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.plan.TensorOp;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The arithmetic half of {@link MergeExecutor}'s compute stage: for each planned tensor, what turns
 * one input block into one output block. {@link #forTensor} loads what the tensor needs (LoRA
 * factors, trained rows) once and returns a {@link TensorComputation} that the stage calls for
 * each of the tensor's blocks, in order, on its own thread. A new tensor operation adds a case to
 * {@link #forTensor}; a decoding or encoding around the merge wraps the computation it returns.
 */
final class TensorComputations {

    /** What the compute stage does with the blocks of one tensor. */
    interface TensorComputation {
        /** Reads {@code in} (the block's input bytes) and fills {@code out} (its output bytes). */
        void block(BlockPlan.Block block, ByteBuffer in, ByteBuffer out);

        /** Called after the tensor's last block. */
        default void finish() {}
    }

    private final MergeKernel kernel;
    private final TensorStore store;
    private final Fp32Loader loader;
    private final MergeVerification verification;
    /** Scale grids of re-quantized FP8 weights, by weight, from the weight's computation to its scale's. */
    private final Map<String, float[]> fp8Scales = new HashMap<>();
    /** The direct buffers loaded for the current tensor, freed when its computation finishes. */
    private final List<ByteBuffer> tensorBuffers = new ArrayList<>();

    TensorComputations(MergeKernel kernel, TensorStore store, MergeVerification verification) {
        this.kernel = kernel;
        this.store = store;
        this.loader = new Fp32Loader(kernel);
        this.verification = verification;
    }

    /**
     * The computation of {@code step}'s blocks; not called for copied tensors. Its {@code finish}
     * frees what was loaded for it.
     */
    TensorComputation forTensor(MergeExecutor.Step step) throws IOException, RejectedException {
        freeTensorBuffers(); // left by a tensor whose computation failed
        TensorComputation computation = computation(step);
        return new TensorComputation() {
            @Override
            public void block(BlockPlan.Block block, ByteBuffer in, ByteBuffer out) {
                computation.block(block, in, out);
            }

            @Override
            public void finish() {
                try {
                    computation.finish();
                } finally {
                    freeTensorBuffers();
                }
            }
        };
    }

    private void freeTensorBuffers() {
        tensorBuffers.forEach(BufferPool::free);
        tensorBuffers.clear();
    }

    /** Loads an adapter tensor as fp32 for the current tensor. */
    private ByteBuffer load(String adapterTensor) throws IOException, RejectedException {
        return owned(loader.load(store.adapterTensor(adapterTensor)));
    }

    /** Frees {@code direct} (a buffer of its own, not a slice) when the current tensor finishes. */
    private ByteBuffer owned(ByteBuffer direct) {
        tensorBuffers.add(direct);
        return direct;
    }

    private TensorComputation computation(MergeExecutor.Step step) throws IOException, RejectedException {
        PlannedTensor t = step.tensor();
        DType from = step.source().info().dtype();
        return switch (step.cut().kind()) {
            case COPY -> throw new IllegalArgumentException("tensor '" + t.name() + "' is copied, not computed");
            case CONVERT -> (block, in, out) -> kernel.convert(in, from, out, t.dtype(), block.count());
            case LOW_RANK -> ((TensorOp.LowRank) t.op().unwrapped()).parameter() != null
                    ? parameterDelta(t, from) : lowRank(t, from);
            case ADD_BIAS -> addBias(t, from);
            case REPLACE_ROWS -> replaceRows(t, from);
            case FP8_DEQUANTIZE -> {
                Fp8Weight fp8 = Fp8Weight.open(store, t, (TensorOp.Fp8Block) t.op());
                yield (block, in, out) -> fp8.dequantizeInto(in, block.first(), block.count(), out);
            }
            case FP8_SCALES -> {
                String weight = ((TensorOp.Fp8Scales) t.op()).weight();
                float[] scales = fp8Scales.remove(weight);
                if (scales == null) {
                    throw new IllegalStateException("scale grid of " + t.name() + " planned before its weight " + weight);
                }
                yield (block, in, out) -> out.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(scales);
            }
        };
    }

    private TensorComputation lowRank(PlannedTensor t, DType sourceType) throws IOException, RejectedException {
        TensorOp.LowRank op = (TensorOp.LowRank) t.op().unwrapped();
        // an FP8 weight: dequantized before, re-quantized after, as transformers loads and saves it
        Fp8Weight fp8 = t.op() instanceof TensorOp.Fp8Block block ? Fp8Weight.open(store, t, block) : null;
        ByteBuffer a = load(op.loraA());
        ByteBuffer b = load(op.loraB());
        int rows = t.shape().get(0).intValue();
        int cols = t.shape().get(1).intValue();
        int r = op.rank();
        ByteBuffer left;
        ByteBuffer right;
        if (op.kind() == ModuleKind.LINEAR) {
            left = b; // B [out=rows, r]
            right = a; // A [r, in=cols]
        } else {
            left = owned(transpose(a, r, rows)); // Aᵀ [rows, r]
            right = owned(transpose(b, cols, r)); // Bᵀ [r, cols]
        }
        ByteBuffer magnitude = op.magnitude() == null ? null : load(op.magnitude());
        if (MergeVerification.allZero(b)) {
            verification.zeroFactor(t.name(), op.loraB());
        }
        // PEFT rounds a plain embedding delta to the weight's dtype before adding it; DoRA adds in fp32.
        LowRankBlock.DeltaRounding rounding = op.kind() == ModuleKind.EMBEDDING && magnitude == null
                ? LowRankBlock.DeltaRounding.DELTA_FIRST : LowRankBlock.DeltaRounding.FUSED;
        // DoRA normalises per output feature: rows of a Linear weight, columns of Conv1D/Embedding weights.
        boolean perColumn = op.kind() != ModuleKind.LINEAR;
        DType baseType = fp8 == null ? sourceType : fp8.workType();
        DType mergedType = fp8 == null ? t.dtype() : fp8.workType();
        TensorProbe probe = verification.probe(t.name(), rows, cols, r, op.scale(), mergedType, left, right, magnitude,
                perColumn);
        return new TensorComputation() {
            @Override
            public void block(BlockPlan.Block block, ByteBuffer in, ByteBuffer out) {
                int row0 = block.first();
                int n = block.count();
                LowRankBlock.Dora dora = magnitude == null ? null
                        : new LowRankBlock.Dora(perColumn ? magnitude : slice(magnitude, row0 * 4L, n * 4), perColumn);
                ByteBuffer leftRows = slice(left, (long) row0 * r * 4, Math.multiplyExact(Math.multiplyExact(n, r), 4));
                ByteBuffer w = fp8 == null ? in : fp8.dequantize(in, row0, n);
                ByteBuffer merged = fp8 == null ? out : fp8.mergedTarget(n, out);
                kernel.lowRank(new LowRankBlock(w, baseType, mergedType, leftRows, right, n, cols, r, op.scale(),
                        rounding, dora, merged));
                probe.checkBlock(w, baseType, merged, row0, n);
                if (fp8 != null && fp8.requantizes()) {
                    fp8.quantize(merged, row0, n, out);
                }
            }

            @Override
            public void finish() {
                if (fp8 != null && fp8.requantizes()) {
                    fp8Scales.put(t.name(), fp8.newScaleInv());
                }
                verification.add(probe.result());
            }
        };
    }

    /**
     * A {@code target_parameters} delta: each block takes its expert's factors ({@link ParamFactors}); PEFT rounds
     * the delta to the parameter's dtype before adding it. One probe per expert checks the expert's rows.
     */
    private TensorComputation parameterDelta(PlannedTensor t, DType baseType) throws IOException, RejectedException {
        TensorOp.LowRank op = (TensorOp.LowRank) t.op();
        ByteBuffer a = load(op.loraA());
        ByteBuffer b = load(op.loraB());
        ParamSlice slice = op.parameter();
        int r = op.rank();
        int rows = slice.rowsPerExpert();
        int cols = slice.columns();
        if (MergeVerification.allZero(b)) {
            verification.zeroFactor(t.name(), op.loraB());
        }
        return new TensorComputation() {
            private int expert = -1;
            private ParamFactors factors;
            private TensorProbe probe;

            @Override
            public void block(BlockPlan.Block block, ByteBuffer in, ByteBuffer out) {
                int e = slice.allExperts() ? block.first() / rows : slice.expert();
                if (e != expert) {
                    finish();
                    expert = e;
                    factors = ParamFactors.of(a, b, r, slice, e);
                    owned(factors.left());
                    owned(factors.right());
                    String name = slice.allExperts() ? t.name() + "[" + e + "]" : t.name();
                    probe = verification.probe(name, rows, cols, r, op.scale(), t.dtype(), factors.left(),
                            factors.right(), null, false);
                }
                int row0 = block.first() - (slice.allExperts() ? e * rows : 0);
                int n = block.count();
                ByteBuffer leftRows = slice(factors.left(), (long) row0 * r * 4,
                        Math.multiplyExact(Math.multiplyExact(n, r), 4));
                kernel.lowRank(new LowRankBlock(in, baseType, t.dtype(), leftRows, factors.right(), n, cols, r,
                        op.scale(), LowRankBlock.DeltaRounding.DELTA_FIRST, null, out));
                probe.checkBlock(in, baseType, out, row0, n);
            }

            @Override
            public void finish() {
                if (probe != null) {
                    verification.add(probe.result());
                    probe = null;
                }
            }
        };
    }

    private TensorComputation addBias(PlannedTensor t, DType baseType) throws IOException, RejectedException {
        TensorOp.AddBias op = (TensorOp.AddBias) t.op();
        ByteBuffer loraBias = load(op.loraBBias());
        return (block, in, out) -> {
            BiasAdd.apply(in, baseType, loraBias, op.scale(), out, t.dtype(), block.count());
            verification.checkBias(t.name(), in, baseType, loraBias, op.scale(), out, t.dtype(), block.count());
        };
    }

    /**
     * {@code trainable_token_indices}: each block is the weight's rows converted to the output dtype,
     * with the trained rows (fp32, as PEFT loads them) rounded to the output dtype in their place.
     */
    private TensorComputation replaceRows(PlannedTensor t, DType from) throws IOException, RejectedException {
        TensorOp.ReplaceRows op = (TensorOp.ReplaceRows) t.op();
        ByteBuffer rows = load(op.rows());
        Map<Integer, Integer> rowOfIndex = new HashMap<>();
        for (int k = 0; k < op.indices().size(); k++) {
            rowOfIndex.put(op.indices().get(k), k);
        }
        int cols = t.shape().get(1).intValue();
        DType to = t.dtype();
        int outRowBytes = cols * to.byteSize();
        return (block, in, out) -> {
            kernel.convert(in, from, out, to, block.count() * cols);
            for (int r = 0; r < block.count(); r++) {
                Integer k = rowOfIndex.get(block.first() + r);
                if (k != null) {
                    kernel.convert(slice(rows, (long) k * cols * 4, cols * 4), DType.F32,
                            slice(out, (long) r * outRowBytes, outRowBytes), to, cols);
                }
            }
        };
    }

    private static ByteBuffer slice(ByteBuffer b, long offset, int length) {
        return b.duplicate().position((int) offset).limit((int) offset + length).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Transposes a row-major fp32 matrix [rows, cols] into a new direct buffer [cols, rows]. */
    static ByteBuffer transpose(ByteBuffer m, int rows, int cols) {
        ByteBuffer out = ByteBuffer.allocateDirect(Math.multiplyExact(Math.multiplyExact(rows, cols), 4))
                .order(ByteOrder.LITTLE_ENDIAN);
        var in = m.duplicate().order(ByteOrder.LITTLE_ENDIAN).rewind().asFloatBuffer();
        var o = out.asFloatBuffer();
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                o.put(j * rows + i, in.get(i * cols + j));
            }
        }
        return out;
    }
}
