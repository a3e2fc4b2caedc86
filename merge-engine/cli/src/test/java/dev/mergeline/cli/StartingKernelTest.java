package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.LowRankBlock;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class StartingKernelTest {

    /** Counts the calls it gets. */
    private static final class CountingKernel implements MergeKernel {
        final AtomicInteger calls = new AtomicInteger();
        volatile boolean closed;

        @Override
        public String executionProvider() {
            return "counting";
        }

        @Override
        public void lowRank(LowRankBlock block) {
            calls.incrementAndGet();
        }

        @Override
        public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
            calls.incrementAndGet();
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void firstUseWaitsForTheStartAndDelegates() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountingKernel started = new CountingKernel();
        StartingKernel kernel = StartingKernel.start(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return started;
        });
        release.countDown();
        assertEquals("counting", kernel.executionProvider());
        kernel.convert(ByteBuffer.allocate(4), DType.F32, ByteBuffer.allocate(2), DType.BF16, 1);
        assertEquals(1, started.calls.get());
        kernel.close();
        assertTrue(started.closed, "closing closes the started kernel");
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
