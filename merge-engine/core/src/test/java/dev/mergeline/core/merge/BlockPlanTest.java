package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mergeline.core.plan.ModuleKind;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.plan.TensorOp;
import dev.mergeline.core.plan.TensorSource;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

class BlockPlanTest {
    private static final TensorSource W = TensorSource.base("w");

    private static PlannedTensor tensor(DType out, TensorOp op, long... shape) {
        return new PlannedTensor("w", out, java.util.Arrays.stream(shape).boxed().toList(), op);
    }

    private static TensorInfo source(DType type, long... shape) {
        long elements = java.util.Arrays.stream(shape).reduce(1, Math::multiplyExact);
        return new TensorInfo("w", type, java.util.Arrays.stream(shape).boxed().toList(), 0, elements * type.byteSize());
    }

    private static TensorOp.LowRank lora(ModuleKind kind, String magnitude) {
        return new TensorOp.LowRank(W, kind, "a", "b", 2, 1f, magnitude);
    }

    @Test
    void lowRankBlocksHoldWholeRowsWithinTheBudget() {
        // 3 rows of 4 fp32 values fit 50 bytes; 10 rows: 3 + 3 + 3 + 1
        BlockPlan.Cut cut = new BlockPlan(50).cut(tensor(DType.F32, lora(ModuleKind.LINEAR, null), 10, 4),
                source(DType.BF16, 10, 4));
        assertEquals(BlockPlan.Kind.LOW_RANK, cut.kind());
        assertEquals(List.of(new BlockPlan.Block(0, 3, 0, 24, 48, 48), new BlockPlan.Block(3, 3, 24, 24, 48, 48),
                new BlockPlan.Block(6, 3, 48, 24, 48, 48), new BlockPlan.Block(9, 1, 72, 8, 16, 16)), cut.blocks());
    }

    @Test
    void aRowWiderThanTheBudgetIsABlockOfItsOwn() {
        BlockPlan.Cut cut = new BlockPlan(8).cut(tensor(DType.BF16, lora(ModuleKind.LINEAR, null), 2, 4),
                source(DType.BF16, 2, 4));
        assertEquals(List.of(new BlockPlan.Block(0, 1, 0, 8, 8, 16), new BlockPlan.Block(1, 1, 8, 8, 8, 16)),
                cut.blocks());
        assertEquals(0, new BlockPlan(8).poolBytes(List.of(cut), true), "over-budget blocks get buffers of their own");
    }

    @Test
    void perColumnDoraIsOneBlockOfTheWholeTensor() {
        BlockPlan.Cut cut = new BlockPlan(16).cut(tensor(DType.BF16, lora(ModuleKind.CONV1D, "m"), 6, 4),
                source(DType.BF16, 6, 4));
        assertEquals(List.of(new BlockPlan.Block(0, 6, 0, 48, 48, 96)), cut.blocks());
        BlockPlan.Cut perRow = new BlockPlan(16).cut(tensor(DType.BF16, lora(ModuleKind.LINEAR, "m"), 6, 4),
                source(DType.BF16, 6, 4));
        assertEquals(6, perRow.blocks().size(), "per-row DoRA keeps row blocks");
    }

    @Test
    void copiesAreCutIntoByteChunks() {
        BlockPlan.Cut cut = new BlockPlan(4).cut(tensor(DType.BF16, new TensorOp.Copy(W), 5), source(DType.BF16, 5));
        assertEquals(BlockPlan.Kind.COPY, cut.kind());
        assertEquals(List.of(new BlockPlan.Block(0, 4, 0, 4, 4, 4), new BlockPlan.Block(0, 4, 4, 4, 4, 4),
                new BlockPlan.Block(0, 2, 8, 2, 2, 2)), cut.blocks());
    }

    @Test
    void conversionsAreCutByElements() {
        // 2 fp32 elements per 8-byte block; bf16 in, fp32 out
        BlockPlan.Cut cut = new BlockPlan(8).cut(tensor(DType.F32, new TensorOp.Copy(W), 5), source(DType.BF16, 5));
        assertEquals(BlockPlan.Kind.CONVERT, cut.kind());
        assertEquals(List.of(new BlockPlan.Block(0, 2, 0, 4, 8, 8), new BlockPlan.Block(0, 2, 4, 4, 8, 8),
                new BlockPlan.Block(0, 1, 8, 2, 4, 4)), cut.blocks());
        assertEquals(4, new BlockPlan(8).poolBytes(List.of(cut), true));
        assertEquals(8, new BlockPlan(8).poolBytes(List.of(cut), false));
    }

    @Test
    void aBiasIsOneBlock() {
        BlockPlan.Cut cut = new BlockPlan(4).cut(tensor(DType.BF16, new TensorOp.AddBias(W, "bias", 1f), 6),
                source(DType.F16, 6));
        assertEquals(BlockPlan.Kind.ADD_BIAS, cut.kind());
        assertEquals(List.of(new BlockPlan.Block(0, 6, 0, 12, 12, 24)), cut.blocks());
    }

    @Test
    void replacedRowsKeepWholeRows() {
        BlockPlan.Cut cut = new BlockPlan(32).cut(
                tensor(DType.BF16, new TensorOp.ReplaceRows(W, "rows", List.of(1)), 3, 4), source(DType.BF16, 3, 4));
        assertEquals(BlockPlan.Kind.REPLACE_ROWS, cut.kind());
        assertEquals(List.of(new BlockPlan.Block(0, 2, 0, 16, 16, 32), new BlockPlan.Block(2, 1, 16, 8, 8, 16)),
                cut.blocks());
    }

    @Test
    void anEmptyTensorHasNoBlocks() {
        assertEquals(List.of(), new BlockPlan(8).cut(tensor(DType.BF16, new TensorOp.Copy(W), 0), source(DType.BF16, 0))
                .blocks());
    }

    @Test
    void theBudgetIsPositive() {
        assertThrows(IllegalArgumentException.class, () -> new BlockPlan(0));
    }
}
