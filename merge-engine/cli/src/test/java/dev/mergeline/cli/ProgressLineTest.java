package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The progress line's text, when it is redrawn, and how it ends. */
class ProgressLineTest {
    private static final long GIB = 1L << 30;
    private static final long SECOND = 1_000_000_000L;

    @Test
    void showsBytesPercentRateEtaAndTensors() {
        // 1 GiB of 2 GiB in 4 s: 256 MiB/s, 4 s left.
        assertEquals("merging 1.00 GiB / 2.00 GiB   50%  256 MiB/s  ETA 0:04  73/146 tensors",
                ProgressLine.format(GIB, 2 * GIB, 73, 146, 4 * SECOND));
        assertEquals("merging 0 B / 2.00 GiB    0%  0 B/s  ETA --:--  0/146 tensors",
                ProgressLine.format(0, 2 * GIB, 0, 146, 0));
        assertEquals("merging 2.00 GiB / 2.00 GiB  100%  34.1 MiB/s  ETA 0:00  146/146 tensors",
                ProgressLine.format(2 * GIB, 2 * GIB, 146, 146, 60 * SECOND));
    }

    @Test
    void sizesAndDurations() {
        assertEquals("812 B", ProgressLine.size(812));
        assertEquals("3.25 MiB", ProgressLine.size(3_407_872));
        assertEquals("412 MiB", ProgressLine.size(412L << 20));
        assertEquals("1.00 GiB", ProgressLine.size((1L << 30) - 500), "never four digits");
        assertEquals("41.5 GiB", ProgressLine.size(41L * GIB + GIB / 2));
        assertEquals("0:07", ProgressLine.duration(7));
        assertEquals("12:05", ProgressLine.duration(725));
        assertEquals("1:00:01", ProgressLine.duration(3601));
    }

    @Test
    void aLongEtaRoundsUp() {
        // 10 B in 10 s is 1 B/s: 90 B left is 1:30.
        assertEquals("merging 10 B / 100 B   10%  1 B/s  ETA 1:30  0/1 tensors",
                ProgressLine.format(10, 100, 0, 1, 10 * SECOND));
    }

    @Test
    void redrawsInPlaceAtMostEveryFifthOfASecondAndEndsWithANewline() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long[] now = {0};
        TerminalProgress line = new TerminalProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8),
                () -> now[0]);
        line.progress(0, 2, 0, 100);
        now[0] += 100_000_000;
        line.progress(1, 2, 50, 100); // within 200 ms: not drawn
        now[0] += 100_000_000;
        line.progress(1, 2, 60, 100);
        now[0] += 1_000_000;
        line.progress(2, 2, 100, 100); // the last one is always drawn
        line.end(true);
        String err = bytes.toString(StandardCharsets.UTF_8);
        String[] draws = err.split("\r", -1);
        assertEquals("", draws[0]);
        assertTrue(draws[1].startsWith("merging 0 B / 100 B"), draws[1]);
        assertTrue(draws[2].startsWith("merging 60 B / 100 B   60%"), draws[2]);
        assertTrue(draws[3].contains("100%") && draws[3].contains("2/2 tensors"), draws[3]);
        assertFalse(err.contains("50 B /"), err);
        assertTrue(err.endsWith("2/2 tensors\n"), err);
        assertEquals(1, err.chars().filter(c -> c == '\n').count());
    }

    @Test
    void aShorterLineBlanksWhatIsLeftOfTheLongerOneAndAFailedMergeErasesTheLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long[] now = {0};
        TerminalProgress line = new TerminalProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8),
                () -> now[0]);
        now[0] = SECOND;
        line.progress(1, 1_000_000, 5, 2 * GIB); // 5 B/s: an ETA of thousands of hours
        String first = bytes.toString(StandardCharsets.UTF_8);
        now[0] = 2 * SECOND;
        line.progress(9, 10, 2 * GIB - 1000, 2 * GIB);
        String second = bytes.toString(StandardCharsets.UTF_8).substring(first.length());
        String text = ProgressLine.format(2 * GIB - 1000, 2 * GIB, 9, 10, 2 * SECOND);
        assertTrue(text.length() < first.length() - 1, text);
        assertEquals("\r" + text + " ".repeat(first.length() - 1 - text.length()), second);
        line.end(false);
        String err = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(err.endsWith(second + "\r" + " ".repeat(text.length()) + "\r"), err);
        assertFalse(err.contains("\n"));
    }

    @Test
    void nothingDrawnNothingEnded() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new TerminalProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), () -> 0).end(true);
        assertEquals(0, bytes.size());
    }

    @Test
    void modeAutoFollowsTheLaunchersTerminalTest() throws Exception {
        assertTrue(TerminalProgress.Mode.shows(null, "tty"));
        assertFalse(TerminalProgress.Mode.shows(null, null));
        assertFalse(TerminalProgress.Mode.shows("auto", ""));
        assertTrue(TerminalProgress.Mode.shows("always", null));
        assertFalse(TerminalProgress.Mode.shows("never", "tty"));
        assertThrows(CliArguments.UsageException.class, () -> TerminalProgress.Mode.shows("sometimes", "tty"));
    }
}
