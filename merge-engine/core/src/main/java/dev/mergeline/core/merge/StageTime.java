package dev.mergeline.core.merge;

import java.util.Locale;

/**
 * How one pipeline stage of a merge spent its time (wall clock from its start to its end).
 *
 * @param stage "read" or "compute" (which includes handing the bytes to the writer)
 * @param busySeconds wall time not spent waiting for another stage
 * @param cpuSeconds CPU time of the stage's thread (user + system), or -1 where the JVM does not measure it
 * @param waitingSeconds wall time spent waiting for another stage (a full queue, an empty one, a free buffer)
 */
public record StageTime(String stage, double busySeconds, double cpuSeconds, double waitingSeconds) {
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s %.2f s busy (%.2f s cpu) + %.2f s waiting", stage, busySeconds,
                cpuSeconds, waitingSeconds);
    }
}
