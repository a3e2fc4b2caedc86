package dev.mergeline.cli;

import dev.mergeline.core.merge.ProgressListener;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A single progress line on a terminal, redrawn in place with {@code \r} at most every
 * {@value #REDRAW_MILLIS} ms (and at once for the first and the last update); {@link #end} finishes it
 * with a newline after a merge that completed, or erases it after one that did not.
 */
final class TerminalProgress implements ProgressListener {
    static final long REDRAW_MILLIS = 200;

    /** When {@code mergeline merge} shows it: {@code --progress auto|always|never}. */
    enum Mode {
        AUTO, ALWAYS, NEVER;

        /**
         * @param flag the value of {@code --progress}, or null (auto)
         * @param stderrProperty system property {@code mergeline.progress}: the launcher script sets it
         *     to {@code tty} when stderr is a terminal ({@code [ -t 2 ]})
         * @return whether to show the line
         */
        static boolean shows(String flag, String stderrProperty) throws CliArguments.UsageException {
            Mode mode;
            try {
                mode = flag == null ? AUTO : valueOf(flag.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CliArguments.UsageException("--progress must be auto, always or never, got " + flag);
            }
            return mode == ALWAYS || mode == AUTO && "tty".equals(stderrProperty);
        }
    }

    private final PrintStream err;
    private final LongSupplier nanoClock;
    private final long started;
    private long lastDrawn;
    private int drawnLength = -1;
    private String line;

    TerminalProgress(PrintStream err, LongSupplier nanoClock) {
        this.err = err;
        this.nanoClock = nanoClock;
        this.started = nanoClock.getAsLong();
    }

    @Override
    public synchronized void progress(int tensorsDone, int tensorsTotal, long bytesDone, long bytesTotal) {
        long now = nanoClock.getAsLong();
        line = ProgressLine.format(bytesDone, bytesTotal, tensorsDone, tensorsTotal, now - started);
        boolean last = tensorsDone == tensorsTotal && bytesDone == bytesTotal;
        if (drawnLength < 0 || last || now - lastDrawn >= REDRAW_MILLIS * 1_000_000) {
            draw(line);
            lastDrawn = now;
        }
    }

    /** Ends the line: kept, with a newline, when {@code completed}; erased otherwise. Nothing if none was drawn. */
    synchronized void end(boolean completed) {
        if (drawnLength < 0) {
            return;
        }
        if (completed) {
            draw(line);
            err.print('\n');
        } else {
            err.print("\r" + " ".repeat(drawnLength) + "\r");
        }
        err.flush();
        drawnLength = -1;
    }

    /** {@code \r}, the line, and blanks over what is left of a longer previous line. */
    private void draw(String text) {
        err.print("\r" + text + " ".repeat(Math.max(0, drawnLength - text.length())));
        err.flush();
        drawnLength = text.length();
    }
}
