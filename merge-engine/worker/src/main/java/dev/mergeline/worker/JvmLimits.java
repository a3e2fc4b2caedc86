package dev.mergeline.worker;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;

/**
 * The memory bounds this JVM runs with, as the worker logs them at start. The worker is meant to run
 * with an explicit heap ({@code -Xmx}) and direct-memory bound ({@code -XX:MaxDirectMemorySize}) —
 * its images and launch scripts set {@code -Xmx1g -XX:MaxDirectMemorySize=2g} — never with the
 * JVM's defaults (heap: a quarter of the machine's or container's memory; direct memory: as much as
 * the heap), which size the process by the machine instead of by the work.
 *
 * @param maxHeapBytes the heap's upper bound
 * @param heapExplicit whether the heap bound was given ({@code -Xmx}, {@code -XX:MaxHeapSize},
 *     {@code -XX:MaxRAMPercentage}) rather than the JVM's default
 * @param maxDirectBytes the direct-memory bound
 * @param directExplicit whether {@code -XX:MaxDirectMemorySize} was given
 */
record JvmLimits(long maxHeapBytes, boolean heapExplicit, long maxDirectBytes, boolean directExplicit) {

    static JvmLimits current() {
        HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        long heap = Runtime.getRuntime().maxMemory();
        boolean heapExplicit = given(hotspot, "MaxHeapSize") || given(hotspot, "MaxRAMPercentage");
        long direct = Long.parseLong(hotspot.getVMOption("MaxDirectMemorySize").getValue());
        boolean directExplicit = given(hotspot, "MaxDirectMemorySize");
        // MaxDirectMemorySize=0 (the default) means: as much as the heap's bound.
        return new JvmLimits(heap, heapExplicit, direct == 0 ? heap : direct, directExplicit);
    }

    private static boolean given(HotSpotDiagnosticMXBean hotspot, String option) {
        VMOption.Origin origin = hotspot.getVMOption(option).getOrigin();
        return origin != VMOption.Origin.DEFAULT && origin != VMOption.Origin.ERGONOMIC;
    }

    /** Both bounds were set explicitly. */
    boolean bounded() {
        return heapExplicit && directExplicit;
    }

    @Override
    public String toString() {
        return "heap " + (maxHeapBytes >> 20) + " MiB" + (heapExplicit ? "" : " (JVM default)") + ", direct memory "
                + (maxDirectBytes >> 20) + " MiB" + (directExplicit ? "" : " (JVM default)");
    }
}
