package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.safetensors.SafetensorsHeader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a merge tells its {@link ProgressListener}: zero first, then counts that never decrease, ending
 * at totals equal to the tensors and tensor bytes really written — with one block per tensor and with
 * tensors cut into many blocks, in one shard and in several.
 */
class ProgressListenerTest {
    record Call(int tensorsDone, int tensorsTotal, long bytesDone, long bytesTotal) {}

    @ParameterizedTest
    @ValueSource(strings = {"llama-bf16-plain", "llama-sharded"})
    void countsRiseFromZeroToTheOutputsRealSize(String caseName, @org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        for (long blockBytes : new long[] {256, MergeExecutor.DEFAULT_BLOCK_BYTES}) {
            Path caseDir = PeftFixtures.caseDir(caseName);
            Path out = tmp.resolve("out-" + blockBytes);
            List<Call> calls = new ArrayList<>();
            MergeOptions d = MergeOptions.defaults();
            Manifest manifest;
            try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
                manifest = new OfflineMerger(kernel).merge(caseDir.resolve("base"), caseDir.resolve("adapter"), out,
                        new MergeOptions(d.outputDType(), 40_000, blockBytes),
                        (td, tt, bd, bt) -> calls.add(new Call(td, tt, bd, bt)));
            }
            long dataBytes = 0;
            int tensors = 0;
            for (Manifest.FileEntry f : manifest.output().files()) {
                if (f.name().endsWith(".safetensors")) {
                    SafetensorsHeader h = SafetensorsHeader.read(out.resolve(f.name()));
                    dataBytes += h.dataLength();
                    tensors += h.tensors().size();
                }
            }
            var c = manifest.counts();
            assertEquals(c.merged() + c.replaced() + c.added() + c.copied(), tensors);
            assertEquals(new Call(0, tensors, 0, dataBytes), calls.get(0));
            assertEquals(new Call(tensors, tensors, dataBytes, dataBytes), calls.get(calls.size() - 1));
            assertTrue(calls.size() > tensors, "a call per tensor and per block: " + calls.size());
            for (int i = 1; i < calls.size(); i++) {
                Call a = calls.get(i - 1);
                Call b = calls.get(i);
                assertTrue(b.tensorsDone() >= a.tensorsDone() && b.bytesDone() >= a.bytesDone(), a + " then " + b);
            }
            if (blockBytes == 256) {
                assertTrue(calls.size() > 2 * tensors, "small blocks report more often: " + calls.size());
            }
        }
    }
}
