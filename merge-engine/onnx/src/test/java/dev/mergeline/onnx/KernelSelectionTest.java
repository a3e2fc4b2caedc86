package dev.mergeline.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.KernelProbe;
import dev.mergeline.core.merge.LowRankBlock;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The start-up probe on real kernels, and the choice of provider it drives: a provider whose probe
 * fails is never used, is closed, and the reason is logged once.
 */
class KernelSelectionTest {

    private final KernelProbe probe = KernelProbe.standard();

    @Test
    void theCpuKernelAndTheReferencePassTheProbe() {
        try (OnnxMergeKernel cpu = OnnxMergeKernel.create(false)) {
            assertEquals(Optional.empty(), probe.check(cpu));
        }
        assertEquals(Optional.empty(), probe.check(new ReferenceMergeKernel()));
    }

    @Test
    void aKernelThatFlipsOneBitFailsTheProbeWithTheElementNamed() {
        try (OnnxMergeKernel cpu = OnnxMergeKernel.create(false)) {
            Optional<String> problem = probe.check(new BitFlipping(cpu));
            assertTrue(problem.isPresent());
            assertTrue(problem.get().startsWith("bf16 LoRA (Linear): element 0 (row 0, column 0)"), problem.get());
            assertTrue(problem.get().contains("bit-exact"), problem.get());
        }
    }

    @Test
    void aKernelThatThrowsFailsTheProbe() {
        Optional<String> problem = probe.check(new Throwing());
        assertTrue(problem.orElseThrow().contains("CUBLAS_STATUS_NOT_INITIALIZED"), problem.get());
    }

    @Test
    void aProviderThatFailsItsProbeIsClosedAndTheNextIsUsed() {
        List<String> log = new ArrayList<>();
        AtomicBoolean brokenClosed = new AtomicBoolean();
        try (OnnxMergeKernel cpu = OnnxMergeKernel.create(false)) {
            BitFlipping broken = new BitFlipping(cpu) {
                @Override
                public void close() {
                    brokenClosed.set(true);
                }
            };
            MergeKernel chosen = OnnxMergeKernel.select(List.of(
                    new OnnxMergeKernel.Candidate<MergeKernel>("CUDA", () -> broken),
                    new OnnxMergeKernel.Candidate<MergeKernel>("CPU", () -> cpu)), probe, log::add);

            assertSame(cpu, chosen);
            assertTrue(brokenClosed.get(), "the rejected kernel is closed");
            assertEquals(1, log.size(), log.toString());
            assertTrue(log.get(0).startsWith("CUDA execution provider failed its start-up probe: bf16 LoRA"), log.get(0));
            assertTrue(log.get(0).endsWith("; using CPU"), log.get(0));
        }
    }

    @Test
    void aProviderWhoseLibrariesDoNotLoadIsSkipped() {
        List<String> log = new ArrayList<>();
        ReferenceMergeKernel fallback = new ReferenceMergeKernel();
        MergeKernel chosen = OnnxMergeKernel.select(List.of(
                new OnnxMergeKernel.Candidate<MergeKernel>("CUDA", () -> {
                    throw new UnsatisfiedLinkError("libcublasLt.so.12: cannot open shared object file");
                }),
                new OnnxMergeKernel.Candidate<MergeKernel>("CPU", () -> fallback)), probe, log::add);
        assertSame(fallback, chosen);
        assertTrue(log.get(0).contains("libcublasLt.so.12"), log.toString());
    }

    @Test
    void theLastProviderFailingIsAnError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> OnnxMergeKernel.select(
                List.of(new OnnxMergeKernel.Candidate<MergeKernel>("CPU", Throwing::new)), probe, s -> { }));
        assertTrue(e.getMessage().startsWith("CPU execution provider failed its start-up probe"), e.getMessage());
    }

    /** A kernel whose results are off by one bit in their first element: what a faulty device kernel looks like. */
    private static class BitFlipping implements MergeKernel {
        private final MergeKernel delegate;

        BitFlipping(MergeKernel delegate) {
            this.delegate = delegate;
        }

        @Override
        public String executionProvider() {
            return "CUDA";
        }

        @Override
        public void lowRank(LowRankBlock block) {
            delegate.lowRank(block);
            ByteBuffer out = block.out();
            out.put(out.position(), (byte) (out.get(out.position()) ^ 1));
        }

        @Override
        public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
            delegate.convert(in, from, out, to, elements);
        }

        @Override
        public void close() {}
    }

    /** A kernel whose device calls fail, as cuBLAS does when it cannot initialise. */
    private static final class Throwing implements MergeKernel {
        @Override
        public String executionProvider() {
            return "CUDA";
        }

        @Override
        public void lowRank(LowRankBlock block) {
            throw new IllegalStateException("ONNX Runtime failed: CUBLAS_STATUS_NOT_INITIALIZED");
        }

        @Override
        public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
            throw new IllegalStateException("ONNX Runtime failed: CUBLAS_STATUS_NOT_INITIALIZED");
        }

        @Override
        public void close() {}
    }
}
