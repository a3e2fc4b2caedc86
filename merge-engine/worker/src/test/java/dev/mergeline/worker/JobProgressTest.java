package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.ProgressListener;
import dev.mergeline.events.AdapterLocation;
import dev.mergeline.events.AdapterRef;
import dev.mergeline.events.EventFixtures;
import dev.mergeline.events.MergeProgress;
import dev.mergeline.events.MergeProgress.Phase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.Test;

/** Which updates of a job are published, against a clock the test moves by hand. */
class JobProgressTest {
    private static final AdapterRef ADAPTER = new AdapterRef(EventFixtures.BUCKET,
            "adapters/" + EventFixtures.ADAPTER_ID + "/", EventFixtures.ADAPTER_ID, Map.of("a.json", "abc"), "LORA", 8,
            List.of("q_proj"));

    private long now = 5_000_000_000L;
    private final List<MergeProgress> published = new ArrayList<>();
    private final JobProgress progress = new JobProgress(EventFixtures.JOB_ID, ADAPTER, Duration.ofSeconds(2),
            () -> now, published::add);

    private void advance(long millis) {
        now += millis * 1_000_000;
    }

    @Test
    void aPhaseStartsAtZeroThenPublishesAtMostEveryIntervalThenAtHundredPercent() {
        LongConsumer download = progress.transfer(Phase.DOWNLOAD, 1000);
        assertEquals(1, published.size());
        assertEquals(MergeProgress.transfer(EventFixtures.JOB_ID, AdapterRef.of(new AdapterLocation(
                EventFixtures.BUCKET, EventFixtures.ADAPTER_ID)), Phase.DOWNLOAD, 0, 1000, 0), published.get(0));

        advance(500);
        download.accept(100);
        advance(1499);
        download.accept(100);
        assertEquals(1, published.size(), "within 2 s of the last update");
        advance(1);
        download.accept(100);
        assertEquals(2, published.size());
        assertEquals(300, published.get(1).bytesDone());
        assertEquals(2000, published.get(1).elapsedMs());

        advance(10);
        download.accept(700);
        assertEquals(2, published.size());
        progress.complete();
        assertEquals(3, published.size());
        MergeProgress last = published.get(2);
        assertEquals(1000, last.bytesDone());
        assertEquals(2010, last.elapsedMs());
        assertTrue(last.phaseComplete());
    }

    @Test
    void aNewPhaseIsPublishedAtOnceAndTheMergeCarriesTensorCounts() {
        progress.transfer(Phase.DOWNLOAD, 10).accept(10);
        ProgressListener merge = progress.merge();
        advance(1);
        merge.progress(0, 3, 0, 600);
        assertEquals(Phase.MERGE, published.get(published.size() - 1).phase());
        advance(1);
        merge.progress(1, 3, 200, 600);
        advance(2000);
        merge.progress(2, 3, 400, 600);
        advance(1);
        merge.progress(3, 3, 600, 600);
        progress.complete();
        progress.transfer(Phase.UPLOAD, 50);

        List<String> seen = published.stream()
                .map(p -> p.phase().wireName() + " " + p.bytesDone() + "/" + p.bytesTotal() + " "
                        + p.tensorsDone() + "/" + p.tensorsTotal())
                .toList();
        assertEquals(List.of("download 0/10 null/null", "merge 0/600 0/3", "merge 400/600 2/3",
                "merge 600/600 3/3", "upload 0/50 null/null"), seen);
        assertNull(published.get(published.size() - 1).tensorsDone());
    }

    @Test
    void completeDoesNotRepeatAnUpdateThatWasAlreadyComplete() {
        LongConsumer upload = progress.transfer(Phase.UPLOAD, 100);
        advance(3000);
        upload.accept(100);
        assertTrue(published.get(1).phaseComplete());
        progress.complete();
        assertEquals(2, published.size());
    }

    @Test
    void aRetriedAttemptStartsItsPhaseAgainAtZeroAtOnce() {
        progress.transfer(Phase.DOWNLOAD, 100).accept(40);
        advance(10);
        progress.transfer(Phase.DOWNLOAD, 100);
        assertEquals(2, published.size());
        assertEquals(0, published.get(1).bytesDone());
        assertEquals(Phase.DOWNLOAD, published.get(1).phase());
    }

    @Test
    void bytesNeverExceedTheTotal() {
        LongConsumer download = progress.transfer(Phase.DOWNLOAD, 100);
        download.accept(150);
        progress.complete();
        published.forEach(p -> assertTrue(p.bytesDone() <= p.bytesTotal(), p.toString()));
        assertEquals(100, published.get(published.size() - 1).bytesDone());
    }

    @Test
    void aPublisherThatFailsLosesTheUpdateNotTheJob() {
        int[] calls = {0};
        JobProgress failing = new JobProgress(EventFixtures.JOB_ID, ADAPTER, Duration.ofSeconds(2), () -> now, p -> {
            calls[0]++;
            throw new IllegalStateException("broker down");
        });
        LongConsumer download = failing.transfer(Phase.DOWNLOAD, 10);
        advance(2000);
        download.accept(5);
        failing.merge().progress(0, 1, 0, 1);
        failing.complete();
        assertEquals(4, calls[0]);
    }
}
