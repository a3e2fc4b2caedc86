package dev.mergeline.core.merge;

import dev.mergeline.core.plan.ModuleKind;
import dev.mergeline.core.plan.ParamSlice;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.plan.TensorOp;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * How {@link MergeExecutor} cuts each planned tensor into blocks: one kernel call (or one copied
 * chunk) per block, each small enough that its fp32 work fits {@code blockBytes}. Pure: it looks at
 * shapes and dtypes only, so the cut is the same however the bytes arrive.
 *
 * <p>Rows stay whole (a row of a [rows, cols] weight is never split), except that elementwise work
 * (dtype conversion, bias, copy) is cut by elements or bytes. A row wider than the budget makes a
 * block of one row; DoRA on a per-column layer (Conv1D, Embedding) normalises each column over all
 * rows, so its one block is the whole tensor.
 */
public final class BlockPlan {
    /** What the executor does with a tensor's blocks. */
    public enum Kind {
        /** Bytes copied unchanged; blocks are byte ranges. */
        COPY,
        /** Elements converted to the output dtype. */
        CONVERT,
        /** Row blocks of a LoRA/DoRA merge. */
        LOW_RANK,
        /** A LoRA bias added to the base bias: one block of every element. */
        ADD_BIAS,
        /** Row blocks converted, trained rows put in place. */
        REPLACE_ROWS,
        /** Row blocks of an FP8 weight dequantized to the output dtype (whole FP8 block rows each). */
        FP8_DEQUANTIZE,
        /** The new scale grid of a re-quantized FP8 weight: one block of every element. */
        FP8_SCALES
    }

    /**
     * One block: {@code count} rows starting at row {@code first} (LOW_RANK, REPLACE_ROWS), or
     * {@code count} elements (CONVERT, ADD_BIAS) or bytes (COPY), {@code first} then being 0;
     * its {@code inBytes} input bytes start at byte {@code inOffset} of the source tensor and it
     * produces {@code outBytes} output bytes; {@code work} is the fp32 (COPY: byte) size the budget limits.
     */
    public record Block(int first, int count, long inOffset, long inBytes, long outBytes, long work) {}

    /** A tensor's cut: its kind and its blocks, in output order. */
    public record Cut(Kind kind, List<Block> blocks) {
        public Cut {
            blocks = List.copyOf(blocks);
        }
    }

    private final long blockBytes;

    /** @param blockBytes fp32 bytes of work per block (copies: bytes per chunk); at least 1 */
    public BlockPlan(long blockBytes) {
        if (blockBytes < 1) {
            throw new IllegalArgumentException("blockBytes must be >= 1, got " + blockBytes);
        }
        this.blockBytes = blockBytes;
    }

    public long blockBytes() {
        return blockBytes;
    }

    /** The blocks of {@code tensor}, whose input is the tensor described by {@code source}. */
    public Cut cut(PlannedTensor tensor, TensorInfo source) {
        TensorOp op = tensor.op();
        DType from = source.dtype();
        DType to = tensor.dtype();
        if (op instanceof TensorOp.LowRank lowRank && lowRank.parameter() != null) {
            return new Cut(Kind.LOW_RANK, parameterBlocks(lowRank.parameter(), from, to));
        }
        if (op instanceof TensorOp.Fp8Block fp8) {
            int rows = tensor.shape().get(0).intValue();
            int cols = tensor.shape().get(1).intValue();
            // whole FP8 block rows, so that each scale block's amax is taken within one block
            int rowsPerBlock = Math.min(rows, Math.max(1, rowsPerBlock(rows, cols) / fp8.blockRows()) * fp8.blockRows());
            return new Cut(op.unwrapped() instanceof TensorOp.LowRank ? Kind.LOW_RANK : Kind.FP8_DEQUANTIZE,
                    rowBlocks(rows, cols, rowsPerBlock, from, to));
        }
        if (op instanceof TensorOp.Fp8Scales) {
            long n = source.elementCount();
            return new Cut(Kind.FP8_SCALES, List.of(new Block(0, Math.toIntExact(n), 0, source.byteLength(),
                    Math.multiplyExact(n, 4L), Math.multiplyExact(n, 4L))));
        }
        if (op instanceof TensorOp.LowRank lowRank) {
            int rows = tensor.shape().get(0).intValue();
            int cols = tensor.shape().get(1).intValue();
            boolean wholeTensor = lowRank.magnitude() != null && lowRank.kind() != ModuleKind.LINEAR;
            return new Cut(Kind.LOW_RANK, rowBlocks(rows, cols, wholeTensor ? rows : rowsPerBlock(rows, cols), from, to));
        }
        if (op instanceof TensorOp.ReplaceRows) {
            int rows = tensor.shape().get(0).intValue();
            int cols = tensor.shape().get(1).intValue();
            return new Cut(Kind.REPLACE_ROWS, rowBlocks(rows, cols, rowsPerBlock(rows, cols), from, to));
        }
        long elements = source.elementCount();
        if (op instanceof TensorOp.AddBias) {
            return new Cut(Kind.ADD_BIAS, List.of(new Block(0, Math.toIntExact(elements), 0, source.byteLength(),
                    Math.multiplyExact(elements, to.byteSize()), Math.multiplyExact(elements, 4L))));
        }
        if (from == to) {
            return new Cut(Kind.COPY, chunks(source.byteLength(), 1, 1, 1));
        }
        return new Cut(Kind.CONVERT, chunks(elements, from.byteSize(), to.byteSize(), 4));
    }

    /**
     * The pooled buffer size that holds every block of {@code cuts} within the budget, input side
     * ({@code input}) or output side; larger blocks (whole-tensor DoRA, one row wider than the budget)
     * get buffers of their own.
     */
    public long poolBytes(List<Cut> cuts, boolean input) {
        long max = 0;
        for (Cut c : cuts) {
            for (Block b : c.blocks()) {
                if (b.work() <= blockBytes) {
                    max = Math.max(max, input ? b.inBytes() : b.outBytes());
                }
            }
        }
        return max;
    }

    /** Rows of {@code cols} fp32 values that fit the block budget (at least one). */
    private int rowsPerBlock(int rows, int cols) {
        return (int) Math.max(1, Math.min(rows, blockBytes / Math.max(1, (long) cols * 4)));
    }

    /**
     * A {@code target_parameters} tensor in row blocks that never span two experts (each expert has its
     * own factors).
     */
    private List<Block> parameterBlocks(ParamSlice slice, DType from, DType to) {
        int rows = slice.rowsPerExpert();
        int cols = slice.columns();
        List<Block> perExpert = rowBlocks(rows, cols, rowsPerBlock(rows, cols), from, to);
        if (!slice.allExperts()) {
            return perExpert;
        }
        List<Block> blocks = new ArrayList<>();
        long expertBytes = Math.multiplyExact(Math.multiplyExact((long) rows, cols), from.byteSize());
        for (int e = 0; e < slice.experts(); e++) {
            for (Block b : perExpert) {
                blocks.add(new Block(Math.addExact(Math.multiplyExact(e, rows), b.first()), b.count(),
                        Math.addExact(Math.multiplyExact(e, expertBytes), b.inOffset()), b.inBytes(), b.outBytes(),
                        b.work()));
            }
        }
        return blocks;
    }

    /** A [rows, cols] tensor cut into blocks of {@code rowsPerBlock} whole rows. */
    private static List<Block> rowBlocks(int rows, int cols, int rowsPerBlock, DType from, DType to) {
        List<Block> blocks = new ArrayList<>();
        for (int row0 = 0; row0 < rows; row0 += rowsPerBlock) {
            int n = Math.min(rowsPerBlock, rows - row0);
            long elements = Math.multiplyExact((long) n, cols);
            blocks.add(new Block(row0, n, Math.multiplyExact((long) row0 * cols, from.byteSize()),
                    Math.multiplyExact(elements, from.byteSize()), Math.multiplyExact(elements, to.byteSize()),
                    Math.multiplyExact(elements, 4L)));
        }
        return blocks;
    }

    /**
     * {@code units} elements (or bytes) of {@code inSize} → {@code outSize} bytes and {@code workSize}
     * budget bytes each, as many per block as the budget allows (at least one).
     */
    private List<Block> chunks(long units, int inSize, int outSize, int workSize) {
        int per = (int) Math.min(Integer.MAX_VALUE, Math.max(1, Math.min(units, blockBytes / workSize)));
        List<Block> blocks = new ArrayList<>();
        for (long first = 0; first < units; first += per) {
            int n = (int) Math.min(per, units - first);
            blocks.add(new Block(0, n, Math.multiplyExact(first, inSize), (long) n * inSize, (long) n * outSize,
                    (long) n * workSize));
        }
        return blocks;
    }
}
