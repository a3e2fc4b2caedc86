package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.TensorInfo;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every merge verifies the bytes it writes: probe residuals per merged tensor in the manifest,
 * targeted tensors that come out unchanged named, and a kernel that writes wrong numbers stopped.
 */
class MergeVerificationTest {

    private static final long SMALL_BLOCKS = 256; // several blocks per tensor in the tiny fixtures

    @Test
    void everyMergedTensorHasAnEntryWithinRounding(@TempDir Path out) throws Exception {
        for (String fixture : List.of("llama-bf16-plain", "llama-fp32-dora", "gpt2-conv1d-dora", "llama-embedding",
                "qwen2-bias", "llama-fp16-rslora")) {
            Path dir = PeftFixtures.caseDir(fixture);
            Manifest m = new OfflineMerger(new ReferenceMergeKernel()).merge(dir.resolve("base"),
                    dir.resolve("adapter"), out.resolve(fixture), MergeOptions.defaults());
            VerificationReport v = m.verification();
            assertEquals("ok", v.status(), fixture);
            assertEquals(m.counts().merged(), v.tensors(), fixture + ": one entry per merged tensor");
            assertEquals(v.tensors(), v.entries().size());
            assertTrue(v.maxRelativeError() > 0 && v.maxRelativeError() < 0x1p-6, fixture + ": " + v.maxRelativeError());
            assertEquals(List.of(), v.unchanged(), fixture);
        }
    }

    @Test
    void anAdapterWhoseLayer0BIsStillZeroNamesItsSevenUnchangedTensors(@TempDir Path tmp) throws Exception {
        Path fixture = PeftFixtures.caseDir("llama-bf16-plain");
        Path adapter = tmp.resolve("adapter");
        Files.createDirectories(adapter);
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
            Files.copy(fixture.resolve("adapter").resolve(f), adapter.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        List<String> zeroed = zeroTensors(adapter.resolve("adapter_model.safetensors"), ".layers.0.", ".lora_B.");
        assertEquals(7, zeroed.size(), zeroed.toString());

        Manifest m = new OfflineMerger(new ReferenceMergeKernel()).merge(fixture.resolve("base"), adapter,
                tmp.resolve("out"), MergeOptions.defaults());

        VerificationReport v = m.verification();
        assertEquals("warning", v.status());
        assertEquals(7, v.unchanged().size(), v.unchanged().toString());
        assertTrue(v.unchanged().stream().allMatch(t -> t.startsWith("model.layers.0.")), v.unchanged().toString());
        assertEquals("lora_B is zero", v.unchangedReason());
        assertTrue(m.notes().stream().anyMatch(n -> n.startsWith("7 targeted tensors are unchanged by this adapter: lora_B is zero")),
                m.notes().toString());
        assertEquals(14, m.counts().merged(), "PEFT merges such adapters too: not a rejection");
    }

    @Test
    void aKernelThatCorruptsOneBlockFailsTheMergeAndLeavesNoOutput(@TempDir Path tmp) throws Exception {
        Path fixture = PeftFixtures.caseDir("llama-bf16-plain");
        // Blocks of 2 rows (every row checked) and whole-tensor blocks of up to 64 rows (16 rows sampled).
        for (long blockBytes : new long[] {SMALL_BLOCKS, MergeExecutor.DEFAULT_BLOCK_BYTES}) {
            Path out = tmp.resolve("out-" + blockBytes);
            OfflineMerger merger = new OfflineMerger(new CorruptingKernel(new ReferenceMergeKernel(), 5));
            MergeOptions options = new MergeOptions(java.util.Optional.empty(), MergeOptions.DEFAULT_SHARD_BYTES, blockBytes);

            VerificationFailedException e = assertThrows(VerificationFailedException.class,
                    () -> merger.merge(fixture.resolve("base"), fixture.resolve("adapter"), out, options));

            assertTrue(e.getMessage().contains("above the"), e.getMessage());
            assertTrue(e.tensor().startsWith("model.layers."), e.tensor());
            try (Stream<Path> left = Files.exists(out) ? Files.list(out) : Stream.empty()) {
                assertEquals(List.of(), left.toList(), "rolled back: nothing written");
            }
        }
    }

    @Test
    void theSameInputsAndSeedGiveTheSameReport(@TempDir Path tmp) throws Exception {
        Path fixture = PeftFixtures.caseDir("llama-bf16-plain");
        MergeOptions seeded = MergeOptions.defaults().withVerificationSeed("job-1");
        OfflineMerger merger = new OfflineMerger(new ReferenceMergeKernel());
        VerificationReport a = merger.merge(fixture.resolve("base"), fixture.resolve("adapter"), tmp.resolve("a"), seeded)
                .verification();
        VerificationReport b = merger.merge(fixture.resolve("base"), fixture.resolve("adapter"), tmp.resolve("b"), seeded)
                .verification();
        assertEquals(a, b);
        VerificationReport other = merger.merge(fixture.resolve("base"), fixture.resolve("adapter"), tmp.resolve("c"),
                MergeOptions.defaults().withVerificationSeed("job-2")).verification();
        assertFalse(a.entries().equals(other.entries()), "other probes, other residuals");
        assertNull(a.unchangedNote());
    }

    /** Sets the bytes of the adapter tensors whose names contain every part to zero; returns their names. */
    private static List<String> zeroTensors(Path file, String... parts) throws IOException {
        List<TensorInfo> hits = new ArrayList<>();
        long dataStart;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            dataStart = f.header().dataStart();
            for (TensorInfo t : f.header().tensors()) {
                if (Stream.of(parts).allMatch(t.name()::contains)) {
                    hits.add(t);
                }
            }
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            for (TensorInfo t : hits) {
                raf.seek(dataStart + t.dataOffset());
                raf.write(new byte[(int) t.byteLength()]);
            }
        }
        return hits.stream().map(TensorInfo::name).toList();
    }

    /** A kernel that flips the exponent bits of every element of its n-th low-rank block. */
    private static final class CorruptingKernel implements MergeKernel {
        private final MergeKernel delegate;
        private final int victim;
        private int calls;

        CorruptingKernel(MergeKernel delegate, int victim) {
            this.delegate = delegate;
            this.victim = victim;
        }

        @Override
        public String executionProvider() {
            return "corrupting";
        }

        @Override
        public void lowRank(LowRankBlock block) {
            delegate.lowRank(block);
            if (calls++ == victim) {
                ByteBuffer out = block.out();
                for (int i = 0; i < block.elements(); i++) {
                    int bits = FloatBits.getBits(out, block.outType(), i);
                    FloatBits.putBits(out, block.outType(), i, bits ^ (block.outType() == DType.F32 ? 0x3F800000 : 0x3F80));
                }
            }
        }

        @Override
        public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
            delegate.convert(in, from, out, to, elements);
        }

        @Override
        public void close() {}
    }
}
