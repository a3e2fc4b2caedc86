package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.MergeExecutor;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.onnx.OnnxMergeKernel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The merge engine's settings as the CLI takes them: flags, and the JVM options and environment behind them. */
class MergeSettingsCliTest {

    private static CliArguments merge(String... flags) throws CliArguments.UsageException {
        List<String> args = new java.util.ArrayList<>(List.of("merge", "--base", "b", "--adapter", "a", "--out", "o"));
        args.addAll(List.of(flags));
        return CliArguments.parse(args);
    }

    @Test
    void blockSizeComesFromTheFlagElseTheDefault() throws Exception {
        assertEquals(1 << 20, MergelineCli.blockBytes(merge("--block-size", "1MiB")));
        assertEquals(MergeExecutor.DEFAULT_BLOCK_BYTES, MergelineCli.blockBytes(merge()));
        assertThrows(CliArguments.UsageException.class, () -> MergelineCli.blockBytes(merge("--block-size", "lots")));
    }

    @Test
    void profileIsTrueOrFalse() throws Exception {
        assertEquals(true, MergelineCli.profile(merge("--profile", "true")));
        assertEquals(false, MergelineCli.profile(merge("--profile", "false")));
        assertEquals(false, MergelineCli.profile(merge()));
        assertThrows(CliArguments.UsageException.class, () -> MergelineCli.profile(merge("--profile", "yes")));
    }

    @Test
    void ortThreadsComeFromTheEnvironmentElseCoresMinusOne() throws Exception {
        assertEquals(3, MergelineCli.ortThreads("3"));
        assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors() - 1), MergelineCli.ortThreads(null));
        assertEquals(OnnxMergeKernel.defaultThreads(), MergelineCli.ortThreads(" "));
        for (String bad : new String[] {"0", "-2", "two", "5000"}) {
            var e = assertThrows(CliArguments.UsageException.class, () -> MergelineCli.ortThreads(bad));
            assertTrue(e.getMessage().contains("MERGELINE_ORT_THREADS"), e.getMessage());
        }
    }

    @Test
    void profilePrintsEveryStageOnStderrAndNothingOnStdoutButTheReport(@TempDir Path tmp) throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        for (String profile : new String[] {"true", "false"}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int status = new MergelineCli().run(new String[] {"merge", "--base", caseDir.resolve("base").toString(),
                "--adapter", caseDir.resolve("adapter").toString(), "--out", tmp.resolve(profile).toString(),
                "--kernel", "java", "--progress", "never", "--block-size", "4KiB", "--profile", profile},
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(MergelineCli.OK, status, err.toString(StandardCharsets.UTF_8));
            String stderr = err.toString(StandardCharsets.UTF_8);
            boolean printed = stderr.matches("(?s).*mergeline: stages: read .* busy .*, compute .* busy .*");
            assertEquals(profile.equals("true"), printed, stderr);
            assertTrue(out.toString(StandardCharsets.UTF_8).trim().startsWith("{"), "stdout holds the report only");
        }
    }
}
