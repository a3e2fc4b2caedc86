package dev.mergeline.cli;

import java.util.Locale;

/**
 * The text of {@code mergeline merge}'s progress line: output tensor bytes written of the total,
 * percent, average rate, estimated time left and tensors, e.g.
 * {@code merging 1.07 GiB / 2.30 GiB   46%  412 MiB/s  ETA 0:03  73/146 tensors}. Pure.
 */
final class ProgressLine {
    private ProgressLine() {}

    /**
     * @param elapsedNanos time since the merge began; the rate is the average over it, and the time
     *     left assumes that rate (shown as {@code --:--} until something was written)
     */
    static String format(long bytesDone, long bytesTotal, int tensorsDone, int tensorsTotal, long elapsedNanos) {
        int percent = bytesTotal == 0 ? 100 : (int) (bytesDone * 100 / bytesTotal);
        double seconds = elapsedNanos / 1e9;
        double rate = seconds > 0 ? bytesDone / seconds : 0;
        String eta = rate > 0 ? duration((long) Math.ceil((bytesTotal - bytesDone) / rate)) : "--:--";
        return String.format(Locale.ROOT, "merging %s / %s  %3d%%  %s/s  ETA %s  %d/%d tensors", size(bytesDone),
                size(bytesTotal), percent, size((long) rate), eta, tensorsDone, tensorsTotal);
    }

    /** Binary units, two decimals below 10, one below 100: {@code 812 B}, {@code 3.25 MiB}, {@code 41.5 GiB}, {@code 412 MiB}. */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes / 1024.0;
        int u = 0;
        while (v >= 999.5 && u < units.length - 1) { // 1000 MiB reads 0.98 GiB: at most three digits
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
    }

    /** {@code m:ss}, or {@code h:mm:ss} from an hour on. */
    static String duration(long seconds) {
        long h = seconds / 3600;
        long m = seconds / 60 % 60;
        long s = seconds % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, s) : String.format(Locale.ROOT, "%d:%02d", m, s);
    }
}
