package dev.mergeline.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.testing.Fp8Fixtures;
import dev.mergeline.safetensors.DType;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * FP8 block-scaled bases merged with the pure-Java reference kernel against transformers 5.17 +
 * PEFT 0.21 (the ONNX Runtime kernel is checked the same way in the CLI module).
 */
class Fp8ParityTest {

    static List<String> cases() throws Exception {
        return Fp8Fixtures.cases();
    }

    /** Small row blocks (4 KiB of fp32 work) so that every weight is merged in several blocks. */
    private static MergeOptions options(Optional<DType> dtype) {
        return new MergeOptions(dtype, MergeOptions.DEFAULT_SHARD_BYTES, 4096);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void fp8OutputEqualsTransformersRequantizedMerge(String caseName, @TempDir Path tmp) throws Exception {
        Path caseDir = Fp8Fixtures.caseDir(caseName);
        Path out = tmp.resolve("merged");
        Manifest manifest;
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            manifest = new OfflineMerger(kernel).merge(caseDir.resolve("base"), caseDir.resolve("adapter"), out,
                    options(Optional.empty()));
        }
        int merged = Fp8Fixtures.assertFp8MatchesReference(caseName, out);
        assertEquals(merged, manifest.counts().merged());
        assertEquals("fp8", manifest.output().quantization().method());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void dequantizedOutputEqualsPeftMergedModel(String caseName, @TempDir Path tmp) throws Exception {
        Path caseDir = Fp8Fixtures.caseDir(caseName);
        Path out = tmp.resolve("merged");
        Manifest manifest;
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            manifest = new OfflineMerger(kernel).merge(caseDir.resolve("base"), caseDir.resolve("adapter"), out,
                    options(Optional.of(DType.BF16)));
        }
        Fp8Fixtures.assertDequantizedMatchesPeft(caseName, out);
        assertEquals("bfloat16", manifest.output().dtype());
        assertEquals(null, manifest.output().quantization());
    }
}
