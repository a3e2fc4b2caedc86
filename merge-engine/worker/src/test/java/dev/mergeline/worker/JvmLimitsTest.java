package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What the worker reports about its memory bounds, read from JVMs started with and without the flags. */
class JvmLimitsTest {
    private static final long MIB = 1L << 20;

    @Test
    void explicitHeapAndDirectMemoryAreReportedAsBounded() throws Exception {
        JvmLimits limits = probe("-Xmx256m", "-XX:MaxDirectMemorySize=300m");
        assertTrue(limits.heapExplicit() && limits.directExplicit() && limits.bounded(), limits.toString());
        assertEquals(300 * MIB, limits.maxDirectBytes());
        assertTrue(limits.maxHeapBytes() <= 256 * MIB && limits.maxHeapBytes() > 128 * MIB, limits.toString());
    }

    @Test
    void jvmDefaultsAreReportedAsUnbounded() throws Exception {
        JvmLimits defaults = probe();
        assertFalse(defaults.heapExplicit() || defaults.directExplicit() || defaults.bounded(), defaults.toString());
        assertTrue(defaults.toString().contains("(JVM default)"), defaults.toString());
        JvmLimits heapOnly = probe("-Xmx256m");
        assertTrue(heapOnly.heapExplicit());
        assertFalse(heapOnly.directExplicit() || heapOnly.bounded());
        assertEquals(heapOnly.maxHeapBytes(), heapOnly.maxDirectBytes(), "direct memory defaults to the heap's bound");
    }

    /** Prints the limits of the JVM it runs in: {@code maxHeap heapExplicit maxDirect directExplicit}. */
    public static void main(String[] args) {
        JvmLimits l = JvmLimits.current();
        System.out.println(l.maxHeapBytes() + " " + l.heapExplicit() + " " + l.maxDirectBytes() + " " + l.directExplicit());
    }

    private static JvmLimits probe(String... flags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(flags));
        command.addAll(List.of("-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                JvmLimitsTest.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "probe failed: " + out);
        String[] f = out.split(" ");
        return new JvmLimits(Long.parseLong(f[0]), Boolean.parseBoolean(f[1]), Long.parseLong(f[2]),
                Boolean.parseBoolean(f[3]));
    }
}
