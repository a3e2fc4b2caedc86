package dev.mergeline.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.events.AdapterLocation;
import dev.mergeline.events.AdapterRef;
import dev.mergeline.events.MergeProgress;
import dev.mergeline.events.MergeProgress.Phase;
import org.junit.jupiter.api.Test;

/** The demo's one line per progress event. */
class DemoClientTest {
    private static final AdapterRef ADAPTER = AdapterRef.of(new AdapterLocation("mergeline", "demo"));
    private static final String JOB = "b87a32d9bac55278b61e8918c916e314";

    @Test
    void aTransferPhaseShowsBytesPercentAndTime() {
        assertEquals("• progress  download  64.0 KiB / 128.0 KiB   50%  at 1.2 s", DemoClient.progressLine(
                MergeProgress.transfer(JOB, ADAPTER, Phase.DOWNLOAD, 65536, 131072, 1234)));
        assertEquals("• progress  upload    2.3 GiB / 2.3 GiB  100%  at 52.5 s", DemoClient.progressLine(
                MergeProgress.transfer(JOB, ADAPTER, Phase.UPLOAD, 2471645608L, 2471645608L, 52531)));
    }

    @Test
    void theMergePhaseAddsTensors() {
        assertEquals("• progress  merge     1.1 GiB / 2.3 GiB   46%  73/146 tensors  at 26.5 s",
                DemoClient.progressLine(new MergeProgress(JOB, ADAPTER, Phase.MERGE, 1147207680L, 2471628800L, 73,
                        146, 26541)));
        assertEquals("• progress  merge     0.0 KiB / 52.3 KiB    0%  0/21 tensors  at 0.0 s",
                DemoClient.progressLine(new MergeProgress(JOB, ADAPTER, Phase.MERGE, 0, 53555, 0, 21, 0)));
    }
}
