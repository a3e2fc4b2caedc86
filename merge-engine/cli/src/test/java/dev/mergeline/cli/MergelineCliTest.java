package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.testing.PeftFixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CLI contract of docs/contract.md, run in-process with the production kernel (ONNX Runtime):
 * merges equal PEFT's for every fixture case, reports are JSON, exit codes are 0/2/1, and a
 * rejection leaves no safetensors behind.
 */
class MergelineCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    record Run(int status, JsonNode report) {}

    /** Runs the CLI in-process and parses its JSON report. */
    static Run cli(String... args) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new MergelineCli().run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, JSON.readTree(out.toString(StandardCharsets.UTF_8)));
    }

    static List<String> cases() throws IOException {
        return PeftFixtures.checkpointCases().stream().filter(c -> !c.endsWith("ensure-tying")).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void onnxMergeEqualsPeft(String caseName) throws Exception {
        Path caseDir = PeftFixtures.caseDir(caseName);
        Path out = tmp.resolve("out");
        Run run = cli("merge", "--base", caseDir.resolve("base").toString(), "--adapter",
                caseDir.resolve("adapter").toString(), "--out", out.toString(),
                "--shard-size", caseName.contains("sharded") ? "40KB" : "5GB");
        assertEquals(0, run.status(), run.report()::toPrettyString);
        assertEquals("merged", run.report().path("status").asText());
        assertEquals("CPU", run.report().at("/manifest/engine/executionProvider").asText());
        PeftFixtures.assertMatchesPeft(caseName, out);
        for (JsonNode f : run.report().at("/manifest/output/files")) {
            Path file = out.resolve(f.path("name").asText());
            assertEquals(f.path("bytes").asLong(), Files.size(file), file::toString);
            // The manifest's hash against the JDK's SHA-256 of the file, not Mergeline's own helper.
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))),
                    f.path("sha256").asText(), file::toString);
        }
        assertTrue(Files.exists(out.resolve("MANIFEST.json")));
    }

    @Test
    void validateReportsValid() throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        Run run = cli("validate", "--base", caseDir.resolve("base").toString(), "--adapter",
                caseDir.resolve("adapter").toString());
        assertEquals(0, run.status());
        assertEquals("valid", run.report().path("status").asText());
        assertEquals(14, run.report().at("/counts/merged").asInt());
    }

    @Test
    void rejectionExitsTwoWithReasonsAndWritesNoSafetensors() throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        Path gpt2Base = PeftFixtures.caseDir("gpt2-conv1d").resolve("base");
        Path out = tmp.resolve("out");
        Run run = cli("merge", "--base", gpt2Base.toString(), "--adapter", caseDir.resolve("adapter").toString(),
                "--out", out.toString());
        assertEquals(2, run.status());
        assertEquals("rejected", run.report().path("status").asText());
        assertEquals("ARCHITECTURE_MISMATCH", run.report().at("/reasons/0/code").asText());
        assertFalse(Files.exists(out) && hasSafetensors(out));
    }

    @Test
    void limitFlagsRejectAnAdapterOverThemWithInputTooLarge() throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        String base = caseDir.resolve("base").toString();
        String adapter = caseDir.resolve("adapter").toString();
        long weights = Files.size(caseDir.resolve("adapter/adapter_model.safetensors"));
        Path out = tmp.resolve("out");

        Run size = cli("merge", "--base", base, "--adapter", adapter, "--out", out.toString(),
                "--max-adapter-size", Long.toString(weights - 1));
        assertEquals(2, size.status(), size.report()::toPrettyString);
        assertEquals("INPUT_TOO_LARGE", size.report().at("/reasons/0/code").asText());
        assertEquals("ADAPTER_BYTES", size.report().at("/reasons/0/detail").asText());
        assertEquals(weights + " bytes", size.report().at("/reasons/0/actual").asText());
        assertEquals("<= " + (weights - 1) + " bytes", size.report().at("/reasons/0/expected").asText());
        assertFalse(Files.exists(out) && hasSafetensors(out));

        Run tensors = cli("validate", "--base", base, "--adapter", adapter, "--max-tensors", "27");
        assertEquals(2, tensors.status(), tensors.report()::toPrettyString);
        assertEquals("INPUT_TOO_LARGE", tensors.report().at("/reasons/0/code").asText());
        assertEquals("TENSOR_COUNT", tensors.report().at("/reasons/0/detail").asText());

        Run within = cli("validate", "--base", base, "--adapter", adapter, "--max-adapter-size", "1MiB",
                "--max-tensors", "28");
        assertEquals(0, within.status(), within.report()::toPrettyString);

        Run bad = cli("validate", "--base", base, "--adapter", adapter, "--max-tensors", "0");
        assertEquals(1, bad.status());
        assertEquals("--max-tensors must be positive, got 0", bad.report().at("/error/message").asText());
    }

    @Test
    void otherFailuresExitOne() throws Exception {
        Run usage = cli("merge", "--base", "x");
        assertEquals(1, usage.status());
        assertEquals("failed", usage.report().path("status").asText());
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        Path out = Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(out.resolve("keep.txt"), "not ours");
        Run busy = cli("merge", "--base", caseDir.resolve("base").toString(), "--adapter",
                caseDir.resolve("adapter").toString(), "--out", out.toString());
        assertEquals(1, busy.status());
        assertTrue(busy.report().at("/error/message").asText().contains("not empty"));
        assertEquals("not ours", Files.readString(out.resolve("keep.txt")));
    }

    @Test
    void dtypeOptionCastsTheOutput() throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-fp32-dora");
        Path out = tmp.resolve("out");
        Run run = cli("merge", "--base", caseDir.resolve("base").toString(), "--adapter",
                caseDir.resolve("adapter").toString(), "--out", out.toString(), "--dtype", "bf16");
        assertEquals(0, run.status(), run.report()::toPrettyString);
        assertEquals("bfloat16", run.report().at("/manifest/output/dtype").asText());
        assertEquals("bfloat16", JSON.readTree(out.resolve("config.json").toFile()).path("dtype").asText(
                JSON.readTree(out.resolve("config.json").toFile()).path("torch_dtype").asText()));
    }

    private static boolean hasSafetensors(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".safetensors"));
        }
    }
}
