package dev.mergeline.core.merge;

import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.ModuleKind;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.plan.TensorOp;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.CheckpointWriter;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorSink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Executes a {@link MergePlan} tensor by tensor: each input tensor is read once from its mapping,
 * merged in row blocks into a reused output buffer, and written once; untouched tensors are copied
 * without passing through the heap.
 */
public final class MergeExecutor {
    /** Default bytes of fp32 work per row block. */
    public static final long DEFAULT_BLOCK_BYTES = 64L << 20;

    private final MergeKernel kernel;
    private final long blockBytes;
    private final Fp32Loader loader;
    private ByteBuffer outBuffer = ByteBuffer.allocateDirect(0);

    public MergeExecutor(MergeKernel kernel, long blockBytes) {
        this.kernel = kernel;
        this.blockBytes = blockBytes;
        this.loader = new Fp32Loader(kernel);
    }

    /** Writes every planned tensor, in plan order, into {@code writer}; the caller commits. */
    public void execute(MergePlan plan, TensorStore store, CheckpointWriter writer) throws IOException, RejectedException {
        for (PlannedTensor t : plan.tensors()) {
            try (TensorSink sink = writer.next(t.name())) {
                TensorOp op = t.op();
                if (op instanceof TensorOp.LowRank lowRank) {
                    lowRank(store, lowRank, t, sink);
                } else if (op instanceof TensorOp.AddBias bias) {
                    addBias(store, bias, t, sink);
                } else {
                    copy(store.locate(op.source()), t, sink);
                }
            }
        }
    }

    private void copy(TensorStore.Located src, PlannedTensor t, TensorSink sink) throws IOException {
        DType from = src.info().dtype();
        if (from == t.dtype()) {
            sink.copyFrom(src.file().channel(), src.position(), src.info().byteLength());
            return;
        }
        long elements = src.info().elementCount();
        int perBlock = (int) Math.max(1, Math.min(elements, blockBytes / 4));
        for (long first = 0; first < elements; first += perBlock) {
            int n = (int) Math.min(perBlock, elements - first);
            ByteBuffer in = src.file().slice(src.info(), first * from.byteSize(), n * from.byteSize());
            ByteBuffer out = output((long) n * t.dtype().byteSize());
            kernel.convert(in, from, out, t.dtype(), n);
            sink.write(out);
        }
    }

    private void lowRank(TensorStore store, TensorOp.LowRank op, PlannedTensor t, TensorSink sink)
            throws IOException, RejectedException {
        TensorStore.Located w = store.locate(op.source());
        ByteBuffer a = loader.load(store.adapterTensor(op.loraA()));
        ByteBuffer b = loader.load(store.adapterTensor(op.loraB()));
        int rows = t.shape().get(0).intValue();
        int cols = t.shape().get(1).intValue();
        int r = op.rank();
        ByteBuffer left;
        ByteBuffer right;
        if (op.kind() == ModuleKind.LINEAR) {
            left = b; // B [out=rows, r]
            right = a; // A [r, in=cols]
        } else {
            left = transpose(a, r, rows); // Aᵀ [rows, r]
            right = transpose(b, cols, r); // Bᵀ [r, cols]
        }
        ByteBuffer magnitude = op.magnitude() == null ? null : loader.load(store.adapterTensor(op.magnitude()));
        // PEFT rounds a plain embedding delta to the weight's dtype before adding it; DoRA adds in fp32.
        LowRankBlock.DeltaRounding rounding = op.kind() == ModuleKind.EMBEDDING && magnitude == null
                ? LowRankBlock.DeltaRounding.DELTA_FIRST : LowRankBlock.DeltaRounding.FUSED;
        // DoRA normalises per output feature: rows of a Linear weight, columns of Conv1D/Embedding weights.
        boolean perColumn = op.kind() != ModuleKind.LINEAR;
        DType baseType = w.info().dtype();
        long rowBytes = (long) cols * 4;
        int rowsPerBlock = magnitude != null && perColumn ? rows
                : (int) Math.max(1, Math.min(rows, blockBytes / Math.max(1, rowBytes)));
        for (int row0 = 0; row0 < rows; row0 += rowsPerBlock) {
            int n = Math.min(rowsPerBlock, rows - row0);
            ByteBuffer base = w.file().slice(w.info(), (long) row0 * cols * baseType.byteSize(),
                    Math.multiplyExact(Math.multiplyExact(n, cols), baseType.byteSize()));
            ByteBuffer out = output((long) n * cols * t.dtype().byteSize());
            LowRankBlock.Dora dora = magnitude == null ? null
                    : new LowRankBlock.Dora(perColumn ? magnitude : slice(magnitude, row0 * 4L, n * 4), perColumn);
            kernel.lowRank(new LowRankBlock(base, baseType, t.dtype(), slice(left, (long) row0 * r * 4,
                    Math.multiplyExact(Math.multiplyExact(n, r), 4)),
                    right, n, cols, r, op.scale(), rounding, dora, out));
            sink.write(out);
        }
    }

    private void addBias(TensorStore store, TensorOp.AddBias op, PlannedTensor t, TensorSink sink)
            throws IOException, RejectedException {
        TensorStore.Located bias = store.locate(op.source());
        ByteBuffer loraBias = loader.load(store.adapterTensor(op.loraBBias()));
        int n = (int) bias.info().elementCount();
        ByteBuffer one = ByteBuffer.allocateDirect(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 1.0f);
        ByteBuffer base = bias.file().slice(bias.info(), 0, (int) bias.info().byteLength());
        ByteBuffer out = output((long) n * t.dtype().byteSize());
        kernel.lowRank(new LowRankBlock(base, bias.info().dtype(), t.dtype(), one, loraBias, 1, n, 1, op.scale(),
                LowRankBlock.DeltaRounding.FUSED, null, out));
        sink.write(out);
    }

    /** A reused direct output buffer of exactly {@code bytes} bytes, position 0. */
    private ByteBuffer output(long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalStateException("row block of " + bytes + " bytes exceeds the limit of " + Integer.MAX_VALUE);
        }
        if (outBuffer.capacity() < bytes) {
            outBuffer = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        }
        return outBuffer.clear().limit((int) bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
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
