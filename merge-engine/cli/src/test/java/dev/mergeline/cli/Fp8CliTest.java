package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.testing.Fp8Fixtures;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The FP8 fixture cases merged through the CLI with ONNX Runtime (the core module checks the reference kernel). */
class Fp8CliTest {
    @TempDir
    Path tmp;

    static List<String> cases() throws Exception {
        return Fp8Fixtures.cases();
    }

    private MergelineCliTest.Run merge(String caseName, String... extra) throws Exception {
        Path caseDir = Fp8Fixtures.caseDir(caseName);
        List<String> args = new java.util.ArrayList<>(List.of("merge", "--base", caseDir.resolve("base").toString(),
                "--adapter", caseDir.resolve("adapter").toString(), "--out", tmp.resolve("out").toString()));
        args.addAll(List.of(extra));
        MergelineCliTest.Run run = MergelineCliTest.cli(args.toArray(String[]::new));
        assertEquals(0, run.status(), run.report()::toPrettyString);
        assertEquals("CPU", run.report().at("/manifest/engine/executionProvider").asText());
        return run;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void onnxFp8MergeEqualsTransformers(String caseName) throws Exception {
        MergelineCliTest.Run run = merge(caseName);
        Fp8Fixtures.assertFp8MatchesReference(caseName, tmp.resolve("out"));
        assertEquals("fp8", run.report().at("/manifest/output/quantization/method").asText());
        assertEquals("float8_e4m3fn", run.report().at("/manifest/output/quantization/format").asText());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void onnxDequantizedMergeEqualsPeft(String caseName) throws Exception {
        MergelineCliTest.Run run = merge(caseName, "--dtype", "bf16");
        Fp8Fixtures.assertDequantizedMatchesPeft(caseName, tmp.resolve("out"));
        assertTrue(run.report().at("/manifest/output/quantization").isMissingNode(), run.report()::toPrettyString);
    }
}
