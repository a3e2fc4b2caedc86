package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventFixtures;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.s3.StorageException;
import java.io.IOException;
import java.nio.file.FileSystemException;
import org.junit.jupiter.api.Test;

/** The pure parts of MergeJobService's fault handling: where answered requests are recorded, disk-full detection. */
class MergeJobServiceTest {

    private static MergeRequested job() {
        return EventCodec.instance().decode(EventFixtures.load(EventFixtures.MERGE_REQUESTED), MergeRequested.class)
                .data();
    }

    @Test
    void answeredRequestMarkersLieBesideTheJobPrefixNeverInsideIt() {
        MergeRequested job = job();
        String id = job.adapter().id();
        String marker = MergeJobService.markerKey(job, "0b9f1f1e-6a47-3c5e-9d0c-0c1f2b3a4d5e");
        assertEquals("merged/" + id + "/.requests/" + job.jobId() + "/0b9f1f1e-6a47-3c5e-9d0c-0c1f2b3a4d5e", marker);
        assertFalse(marker.startsWith("merged/" + id + "/" + job.jobId() + "/"));
    }

    @Test
    void requestIdsThatAreNotSafeKeySegmentsAreHashed() {
        MergeRequested job = job();
        for (String hostile : new String[] {"../../adapters/x", "..", "a/b", "x".repeat(200), "ä"}) {
            String marker = MergeJobService.markerKey(job, hostile);
            String name = marker.substring(marker.lastIndexOf('/') + 1);
            assertTrue(name.matches("[0-9a-f]{64}"), hostile + " -> " + marker);
            assertTrue(marker.startsWith("merged/" + job.adapter().id() + "/.requests/" + job.jobId() + "/"));
        }
    }

    @Test
    void aFullDiskIsRecognisedAnywhereInTheCauseChain() {
        IOException enospc = new FileSystemException("/scratch/x/base/model.safetensors", null,
                "No space left on device");
        assertTrue(MergeJobService.isDiskFull(enospc));
        assertTrue(MergeJobService.isDiskFull(new StorageException("cannot write /scratch/x: No space left on device",
                false, enospc)));
        assertTrue(MergeJobService.isDiskFull(new IllegalStateException("merge failed", new IOException(
                "No space left on device"))));
        assertFalse(MergeJobService.isDiskFull(new StorageException("get failed: HTTP 503", true, null)));
    }
}
