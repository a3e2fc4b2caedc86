package dev.mergeline.s3;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * Runs the parts of one transfer, at most {@code concurrency} at a time, on threads that live as
 * long as the transfer. The first failure stops the rest: parts not yet started are skipped, running
 * ones see {@code stopped} turn true and end at their next buffer. Returns (or throws that first
 * failure) only once every part has ended, so no part still writes when the caller cleans up.
 */
final class ConcurrentParts {
    private static final AtomicInteger THREADS = new AtomicInteger();

    /** One part; it should check {@code stopped} between requests and buffers. */
    interface Part {
        void run(BooleanSupplier stopped) throws StorageException;
    }

    private ConcurrentParts() {}

    static void run(String what, List<Part> parts, int concurrency) throws StorageException {
        if (parts.size() == 1 || concurrency == 1) {
            for (Part p : parts) {
                p.run(() -> false);
            }
            return;
        }
        AtomicBoolean stopped = new AtomicBoolean();
        AtomicReference<StorageException> first = new AtomicReference<>();
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(concurrency, parts.size()), r -> {
            Thread t = new Thread(r, "mergeline-s3-part-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            for (Part p : parts) {
                pool.execute(() -> {
                    if (stopped.get()) {
                        return;
                    }
                    try {
                        p.run(stopped::get);
                    } catch (StorageException e) {
                        fail(stopped, first, e);
                    } catch (RuntimeException | Error e) {
                        fail(stopped, first, new StorageException(what + " failed: " + e, false, e));
                    }
                });
            }
        } finally {
            pool.shutdown();
            awaitAll(what, pool, stopped, first);
        }
        StorageException e = first.get();
        if (e != null) {
            throw e;
        }
    }

    private static void fail(AtomicBoolean stopped, AtomicReference<StorageException> first, StorageException e) {
        // Only the first failure is reported; later ones are mostly parts that saw `stopped`.
        if (first.compareAndSet(null, e)) {
            stopped.set(true);
        }
    }

    /**
     * Waits until every part has ended. An interrupt stops the parts (the transfer then fails as
     * retriable, unless a part failed first) but the wait goes on: the parts must not outlive it.
     */
    private static void awaitAll(String what, ExecutorService pool, AtomicBoolean stopped,
            AtomicReference<StorageException> first) {
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(1, TimeUnit.SECONDS)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true;
                fail(stopped, first, new StorageException(what + " interrupted", true, e));
                pool.shutdownNow();
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
