package dev.mergeline.safetensors;

import static dev.mergeline.safetensors.TestData.spec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ShardLayoutTest {

    /** Tensors of the given byte sizes (U8 vectors), named t0, t1, ... */
    private static List<TensorSpec> sizes(long... bytes) {
        TensorSpec[] out = new TensorSpec[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = spec("t" + i, DType.U8, bytes[i]);
        }
        return List.of(out);
    }

    private static List<List<String>> names(ShardLayout layout) {
        return layout.shards().stream().map(s -> s.tensors().stream().map(TensorSpec::name).toList()).toList();
    }

    @Test
    void everythingFitsInOneShard() {
        ShardLayout l = ShardLayout.plan(sizes(3, 3, 4), 10);
        assertEquals(List.of(List.of("t0", "t1", "t2")), names(l));
        assertEquals("model.safetensors", l.shards().get(0).fileName());
        assertFalse(l.sharded());
        assertEquals(10, l.totalTensorBytes());
    }

    @Test
    void newShardWhenTheNextTensorWouldGoOverTheLimit() {
        ShardLayout l = ShardLayout.plan(sizes(6, 4, 1, 5, 5), 10);
        assertEquals(List.of(List.of("t0", "t1"), List.of("t2", "t3"), List.of("t4")), names(l));
        assertTrue(l.sharded());
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors"), l.shards().stream().map(ShardLayout.Shard::fileName).toList());
        assertEquals(21, l.totalTensorBytes());
        assertEquals(6, l.shards().get(1).tensorBytes());
    }

    @Test
    void oversizedTensorSitsAloneAndOrderIsKept() {
        ShardLayout l = ShardLayout.plan(sizes(2, 25, 0, 3, 30), 10);
        assertEquals(List.of(List.of("t0"), List.of("t1"), List.of("t2", "t3"), List.of("t4")), names(l));
    }

    @Test
    void oversizedFirstTensor() {
        assertEquals(List.of(List.of("t0"), List.of("t1")), names(ShardLayout.plan(sizes(11, 1), 10)));
    }

    @Test
    void zeroSizedTensorsJoinTheCurrentShard() {
        assertEquals(List.of(List.of("t0", "t1", "t2")), names(ShardLayout.plan(sizes(10, 0, 0), 10)));
    }

    @Test
    void noTensorsGiveOneEmptyShard() {
        ShardLayout l = ShardLayout.plan(List.of(), 10);
        assertEquals(1, l.shards().size());
        assertEquals("model.safetensors", l.shards().get(0).fileName());
        assertEquals(0, l.totalTensorBytes());
    }

    @Test
    void dtypeSizesCount() {
        List<TensorSpec> t = List.of(spec("a", DType.F32, 2L, 2L), spec("b", DType.BF16, 4L), spec("c", DType.I64));
        assertEquals(List.of(List.of("a"), List.of("b", "c")), names(ShardLayout.plan(t, 16)));
    }

    @Test
    void rejectsDuplicatesAndBadLimits() {
        assertThrows(IllegalArgumentException.class, () -> ShardLayout.plan(List.of(spec("a", DType.U8, 1L),
                spec("a", DType.U8, 2L)), 10));
        assertThrows(IllegalArgumentException.class, () -> ShardLayout.plan(sizes(1), 0));
        assertThrows(IllegalArgumentException.class, () -> new ShardLayout(List.of()));
        assertThrows(IllegalArgumentException.class, () -> new ShardLayout(List.of(
                new ShardLayout.Shard("x", sizes(1)), new ShardLayout.Shard("y", sizes(1)))));
    }

    @Test
    void tensorSpecUsesCheckedArithmetic() {
        assertEquals(24, spec("a", DType.F32, 2L, 3L).byteLength());
        assertEquals(8, spec("s", DType.F64).byteLength());
        assertEquals(0, spec("z", DType.F64, 0L, 1L << 62, 1L << 62).byteLength());
        assertThrows(ArithmeticException.class, () -> spec("o", DType.F32, 1L << 40, 1L << 40));
        assertThrows(ArithmeticException.class, () -> spec("o", DType.F32, 1L << 62));
        assertThrows(IllegalArgumentException.class, () -> spec("n", DType.F32, -1L));
        assertThrows(IllegalArgumentException.class, () -> spec("__metadata__", DType.F32));
    }

    @Test
    void totalBytesAreChecked() {
        List<TensorSpec> huge = List.of(spec("a", DType.U8, Long.MAX_VALUE), spec("b", DType.U8, 1L));
        ShardLayout l = ShardLayout.plan(huge, Long.MAX_VALUE);
        assertEquals(2, l.shards().size());
        assertThrows(ArithmeticException.class, l::totalTensorBytes);
    }
}
