package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.testing.PeftFixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mergeline merge --progress}: a progress line on stderr only when asked for (or, with
 * {@code auto}, when the launcher found stderr to be a terminal, which a test's stderr is not), and
 * stdout one JSON document either way.
 */
class CliProgressTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper ONE_DOCUMENT = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    @TempDir
    Path tmp;

    /** stdout and stderr of one in-process run. */
    record Streams(int status, String out, String err) {}

    private Streams merge(String out, String... progress) {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        List<String> args = new ArrayList<>(List.of("merge", "--base", caseDir.resolve("base").toString(),
                "--adapter", caseDir.resolve("adapter").toString(), "--out", tmp.resolve(out).toString()));
        args.addAll(List.of(progress));
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        int status = new MergelineCli().run(args.toArray(String[]::new),
                new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8));
        return new Streams(status, stdout.toString(StandardCharsets.UTF_8), stderr.toString(StandardCharsets.UTF_8));
    }

    /** Exit 0 and stdout exactly one JSON document (anything after it fails to parse). */
    private static void assertOneJsonReport(Streams run) throws Exception {
        assertEquals(0, run.status(), run.out());
        assertEquals("merged", ONE_DOCUMENT.readTree(run.out()).path("status").asText());
    }

    @Test
    void neverAndAutoWithoutATerminalWriteNothingToStderr() throws Exception {
        Streams never = merge("never", "--progress", "never");
        assertOneJsonReport(never);
        assertEquals("", never.err());
        Streams auto = merge("auto");
        assertOneJsonReport(auto);
        assertEquals("", auto.err());
    }

    @Test
    void alwaysDrawsTheLineOnStderrAndEndsItWithANewline() throws Exception {
        Streams always = merge("always", "--progress", "always");
        assertOneJsonReport(always);
        String err = always.err();
        assertTrue(err.startsWith("\rmerging 0 B / "), err);
        assertTrue(err.endsWith(" tensors\n"), err);
        String last = err.substring(err.lastIndexOf('\r') + 1).strip();
        assertTrue(last.matches("merging \\S+ \\S+ / \\S+ \\S+ +100%  \\S+ \\S+/s  ETA 0:00  (\\d+)/\\1 tensors"), last);
        assertFalse(always.out().contains("merging"), always.out());
    }

    @Test
    void anUnknownModeIsAUsageError() throws Exception {
        Streams bad = merge("bad", "--progress", "sometimes");
        assertEquals(1, bad.status());
        assertEquals("--progress must be auto, always or never, got sometimes",
                JSON.readTree(bad.out()).at("/error/message").asText());
    }
}
