package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.run.LocalInputs;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.run.Validator;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.safetensors.CheckpointWriter;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.ShardLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The pipelined executor: its output does not depend on how tensors are cut into blocks or on
 * the threads' timing, and a failure in any stage surfaces from {@link MergeExecutor#execute}
 * with every helper thread ended.
 */
class MergeExecutorTest {

    static List<String> cases() throws IOException {
        return PeftFixtures.checkpointCases().stream()
                .filter(c -> !c.equals("llama-tied-embedding-ensure-tying")) // refused on purpose
                .toList();
    }

    /**
     * 64-byte blocks cut every tensor into single rows, most of them wider than the budget (the
     * one-off buffer path); an unbounded budget gives one block per tensor. Same bytes either way.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void outputDoesNotDependOnBlockSize(String caseName, @TempDir Path tmp) throws Exception {
        Path caseDir = PeftFixtures.caseDir(caseName);
        Map<String, String> tiny = merge(caseDir, tmp.resolve("tiny"), 64);
        Map<String, String> whole = merge(caseDir, tmp.resolve("whole"), Long.MAX_VALUE / 8);
        Map<String, String> standard = merge(caseDir, tmp.resolve("default"), MergeExecutor.DEFAULT_BLOCK_BYTES);
        assertEquals(whole, tiny);
        assertEquals(whole, standard);
    }

    /**
     * Blocks read with O_DIRECT (whole aligned pages around each block, narrowed in the buffer),
     * through the page cache, and as the default decides per file give the same files; 256-byte
     * blocks start at every kind of offset.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void directAndPageCacheReadsGiveTheSameOutput(String caseName, @TempDir Path tmp) throws Exception {
        Path caseDir = PeftFixtures.caseDir(caseName);
        Map<ReadStage.Reads, List<dev.mergeline.safetensors.WrittenFile>> written = new java.util.EnumMap<>(ReadStage.Reads.class);
        try (LocalInputs in = LocalInputs.open(caseDir.resolve("base"), caseDir.resolve("adapter"));
                ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            MergePlan plan = new Validator().validate(in.inputs(), MergeOptions.defaults());
            ShardLayout layout = ShardLayout.plan(plan.tensors().stream().map(PlannedTensor::spec).toList(), 40_000);
            for (ReadStage.Reads reads : ReadStage.Reads.values()) {
                try (CheckpointWriter writer = new CheckpointWriter(tmp.resolve("out-" + reads), layout, Map.of())) {
                    new MergeExecutor(kernel, 256, new MergeVerification("seed"), reads)
                            .execute(plan, new TensorStore(in.base(), in.adapter()), writer);
                    written.put(reads, writer.commit());
                }
            }
        }
        assertEquals(written.get(ReadStage.Reads.PAGE_CACHE), written.get(ReadStage.Reads.DIRECT));
        assertEquals(written.get(ReadStage.Reads.PAGE_CACHE), written.get(ReadStage.Reads.CACHED_ELSE_DIRECT));
        assertNoHelperThreads();
    }

    /**
     * What a merge loads per tensor (LoRA factors, mappings of the adapter) is freed as it goes, not
     * left to the garbage collector: memory stays flat however many tensors a model has.
     */
    @Test
    void loadedFactorsAndMappingsAreFreedTensorByTensor(@TempDir Path tmp) throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        java.lang.management.BufferPoolMXBean direct = bufferPool("direct");
        java.lang.management.BufferPoolMXBean mapped = bufferPool("mapped");
        long directBefore = direct.getCount();
        long mappedBefore = mapped.getCount();
        Manifest m;
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            m = new OfflineMerger(kernel).merge(caseDir.resolve("base"), caseDir.resolve("adapter"), tmp.resolve("out"),
                    options(MergeExecutor.DEFAULT_BLOCK_BYTES));
        }
        long merged = m.verification().tensors();
        assertTrue(merged >= 8, merged + " merged tensors");
        // Left alive: the writer's few staging buffers and the adapter scan's scratch; the 2 factors of
        // every merged tensor (and their mappings) are gone.
        assertTrue(direct.getCount() - directBefore < merged, "direct buffers left: " + (direct.getCount() - directBefore));
        assertTrue(mapped.getCount() <= mappedBefore, "mappings left: " + (mapped.getCount() - mappedBefore));
    }

    private static java.lang.management.BufferPoolMXBean bufferPool(String name) {
        return java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)
                .stream().filter(b -> b.getName().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void kernelFailureSurfacesAndStopsEveryStage(@TempDir Path tmp) throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        IllegalStateException boom = new IllegalStateException("kernel failed on purpose");
        AtomicInteger calls = new AtomicInteger();
        MergeKernel failing = new DelegatingKernel(new ReferenceMergeKernel()) {
            @Override
            public void lowRank(LowRankBlock block) {
                if (calls.incrementAndGet() == 3) {
                    throw boom;
                }
                super.lowRank(block);
            }
        };
        Path out = tmp.resolve("out");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> new OfflineMerger(failing)
                .merge(caseDir.resolve("base"), caseDir.resolve("adapter"), out, options(256)));
        assertSame(boom, thrown);
        assertNoHelperThreads();
        try (Stream<Path> left = Files.list(out)) {
            assertEquals(List.of(), left.toList(), "a failed merge leaves the output directory empty");
        }
    }

    @Test
    void readFailureSurfacesAndStopsEveryStage(@TempDir Path tmp) throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        Path base = tmp.resolve("base");
        Files.createDirectories(base);
        try (Stream<Path> files = Files.list(caseDir.resolve("base"))) {
            for (Path f : files.toList()) {
                Files.copy(f, base.resolve(f.getFileName()));
            }
        }
        Path weights = base.resolve("model.safetensors");
        try (LocalInputs in = LocalInputs.open(base, caseDir.resolve("adapter"));
                ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            MergePlan plan = new Validator().validate(in.inputs(), MergeOptions.defaults());
            // The file shrinks after its header was validated, as if replaced during the merge.
            try (FileChannel ch = FileChannel.open(weights, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() / 2);
            }
            ShardLayout layout = ShardLayout.plan(plan.tensors().stream().map(PlannedTensor::spec).toList(), Long.MAX_VALUE);
            try (CheckpointWriter writer = new CheckpointWriter(tmp.resolve("out"), layout, Map.of())) {
                IOException e = assertThrows(IOException.class, () -> new MergeExecutor(kernel, 256)
                        .execute(plan, new TensorStore(in.base(), in.adapter()), writer));
                assertTrue(e.getMessage().contains("ends early") || e.getMessage().contains("truncated"), e.getMessage());
            }
        }
        assertNoHelperThreads();
    }

    @Test
    void pooledBuffersAreReusedAndOversizeOnesAreOneOff() throws Exception {
        BufferPool pool = new BufferPool(2, 16);
        Pipeline pipeline = new Pipeline();
        Pipeline.Stage stage = pipeline.stage("test");
        BufferPool.Lease a = pool.acquire(16, stage);
        BufferPool.Lease b = pool.acquire(8, stage);
        assertEquals(8, b.view().remaining());
        BufferPool.Lease big = pool.acquire(100, stage);
        assertEquals(100, big.view().capacity());
        pool.release(big);
        pool.release(a);
        BufferPool.Lease c = pool.acquire(4, stage);
        assertEquals(4, c.view().remaining());
        pipeline.fail(new IOException("stop"));
        assertThrows(Pipeline.Aborted.class, () -> pool.acquire(16, stage), "both buffers out: waits, then aborts");
        pool.release(b);
        pool.release(c);
        pool.close();
    }

    private static Map<String, String> merge(Path caseDir, Path out, long blockBytes) throws Exception {
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            Manifest m = new OfflineMerger(kernel).merge(caseDir.resolve("base"), caseDir.resolve("adapter"), out,
                    options(blockBytes));
            assertNoHelperThreads();
            return m.output().files().stream().collect(Collectors.toMap(Manifest.FileEntry::name, Manifest.FileEntry::sha256));
        }
    }

    private static MergeOptions options(long blockBytes) {
        return new MergeOptions(Optional.<DType>empty(), 40_000, blockBytes);
    }

    private static void assertNoHelperThreads() {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            assertFalse(t.getName().startsWith("mergeline-") && t.isAlive(), "still running: " + t.getName());
        }
    }

    /** Forwards everything to another kernel. */
    private static class DelegatingKernel implements MergeKernel {
        private final MergeKernel delegate;

        DelegatingKernel(MergeKernel delegate) {
            this.delegate = delegate;
        }

        @Override
        public String executionProvider() {
            return delegate.executionProvider();
        }

        @Override
        public void lowRank(LowRankBlock block) {
            delegate.lowRank(block);
        }

        @Override
        public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
            delegate.convert(in, from, out, to, elements);
        }

        @Override
        public void close() {
            delegate.close();
        }
    }
}
