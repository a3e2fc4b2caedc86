package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.LowRankBlock;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class StartingKernelTest {

    @Test
    void firstUseWaitsForTheStartAndDelegates() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean closed = new AtomicBoolean();
        StartingKernel kernel = StartingKernel.start(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            ReferenceMergeKernel reference = new ReferenceMergeKernel();
            return new MergeKernel() {
                @Override
                public String executionProvider() {
                    return reference.executionProvider();
                }

                @Override
                public void lowRank(LowRankBlock block) {
                    reference.lowRank(block);
                }

                @Override
                public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
                    reference.convert(in, from, out, to, elements);
                }

                @Override
                public void close() {
                    closed.set(true);
                }
            };
        });
        release.countDown();
        assertEquals("java", kernel.executionProvider());
        ByteBuffer in = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 1.5f);
        ByteBuffer out = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN);
        kernel.convert(in, DType.F32, out, DType.BF16, 1);
        assertEquals((short) 0x3FC0, out.getShort(0));
        kernel.close();
        assertTrue(closed.get(), "closing closes the started kernel");
    }

    @Test
    void aFailedStartIsThrownUnwrappedAtFirstUseAndCloseIsQuiet() {
        IllegalStateException boom = new IllegalStateException("no ONNX Runtime here");
        StartingKernel kernel = StartingKernel.start(() -> {
            throw boom;
        });
        assertSame(boom, assertThrows(IllegalStateException.class, kernel::executionProvider));
        kernel.close();
    }
}
