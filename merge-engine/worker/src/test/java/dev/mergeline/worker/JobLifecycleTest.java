package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The shutdown state machine: no job after stopping, a grace period, then abandonment at a checkpoint. */
class JobLifecycleTest {
    private final JobLifecycle lifecycle = new JobLifecycle();

    @Test
    void noJobStartsOnceStopping() {
        lifecycle.drain(Duration.ofSeconds(1));
        assertTrue(lifecycle.stopping());
        assertThrows(JobHandedBack.class, () -> lifecycle.begin("a"));
        assertFalse(lifecycle.busy());
    }

    @Test
    void drainWaitsForAJobThatFinishesWithinTheGrace() throws Exception {
        lifecycle.begin("a");
        CompletableFuture<Void> finishing = CompletableFuture.runAsync(() -> {
            lifecycle.pause("a", Duration.ofMillis(200));
            lifecycle.end();
        });
        lifecycle.drain(Duration.ofSeconds(30));
        assertFalse(lifecycle.busy(), "drain returned after the job ended");
        finishing.get(1, TimeUnit.SECONDS); // the pause completed: the job was not abandoned
        lifecycle.checkAbort("a");
    }

    @Test
    void aJobStillRunningAfterTheGraceIsAbandonedAtItsNextCheckpoint() throws Exception {
        lifecycle.begin("a");
        CompletableFuture<Throwable> paused = CompletableFuture.supplyAsync(() -> {
            try {
                lifecycle.pause("a", Duration.ofMinutes(5));
                return null;
            } catch (JobHandedBack e) {
                return e;
            } finally {
                lifecycle.end();
            }
        });
        long start = System.nanoTime();
        lifecycle.drain(Duration.ofMillis(100));
        assertTrue(paused.get(10, TimeUnit.SECONDS) instanceof JobHandedBack, "the pause ends early, handed back");
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "not the 5-minute pause");
        assertThrows(JobHandedBack.class, () -> lifecycle.checkAbort("a"));
        assertFalse(lifecycle.busy());
    }
}
