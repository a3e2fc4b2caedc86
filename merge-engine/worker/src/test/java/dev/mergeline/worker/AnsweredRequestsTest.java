package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventFixtures;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.s3.StorageException;
import dev.mergeline.worker.InMemoryObjectStore.Op;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Where answered requests are recorded, and that recording them never fails a finished job. */
class AnsweredRequestsTest {
    private final InMemoryObjectStore store = new InMemoryObjectStore("mergeline");
    private final AnsweredRequests answered = new AnsweredRequests(store, "mergeline");

    private static MergeRequested job() {
        return EventCodec.instance().decode(EventFixtures.load(EventFixtures.MERGE_REQUESTED), MergeRequested.class)
                .data();
    }

    @Test
    void answeredRequestMarkersLieBesideTheJobPrefixNeverInsideIt() {
        MergeRequested job = job();
        String id = job.adapter().id();
        String marker = AnsweredRequests.markerKey(job, "0b9f1f1e-6a47-3c5e-9d0c-0c1f2b3a4d5e");
        assertEquals("merged/" + id + "/.requests/" + job.jobId() + "/0b9f1f1e-6a47-3c5e-9d0c-0c1f2b3a4d5e", marker);
        assertFalse(marker.startsWith("merged/" + id + "/" + job.jobId() + "/"));
    }

    @Test
    void requestIdsThatAreNotSafeKeySegmentsAreReplacedByTheirSha256() throws Exception {
        MergeRequested job = job();
        for (String hostile : new String[] {"../../adapters/x", "..", "a/b", "x".repeat(200), "ä"}) {
            String marker = AnsweredRequests.markerKey(job, hostile);
            String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(hostile.getBytes(StandardCharsets.UTF_8)));
            assertEquals("merged/" + job.adapter().id() + "/.requests/" + job.jobId() + "/" + expected, marker);
        }
    }

    @Test
    void aRequestIsAnsweredOnceItsMarkerIsWritten() throws StorageException {
        MergeRequested job = job();
        assertFalse(answered.answered(job, "r1"));
        answered.markAnswered(job, "r1");
        assertTrue(answered.answered(job, "r1"));
        assertFalse(answered.answered(job, "r2"));
    }

    @Test
    void aMarkerTheStoreRefusesLeavesTheRequestUnansweredWithoutFailing() throws StorageException {
        MergeRequested job = job();
        store.failNext(Op.PUT, new StorageException("put failed: HTTP 503", true, null));
        answered.markAnswered(job, "r1");
        assertFalse(answered.answered(job, "r1"));
    }
}
