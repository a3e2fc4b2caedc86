package dev.mergeline.core.merge;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The helper threads of one {@link MergeExecutor#execute} and their first failure.
 *
 * <p>Stages never interrupt each other: an interrupt closes any {@link java.nio.channels.FileChannel}
 * the interrupted thread is using, and the input files are shared. Instead every blocking wait of a
 * {@link Stage} polls the pipeline's abort flag a few times a second.
 */
final class Pipeline implements AutoCloseable {
    /** How often a waiting stage checks whether another stage failed. */
    private static final long POLL_MILLIS = 50;

    /** Thrown inside a stage that stops because another stage failed. */
    static final class Aborted extends RuntimeException {
        Aborted() {
            super("another merge stage failed", null, false, false);
        }
    }

    /** A stage body. */
    interface Body {
        void run() throws Exception;
    }

    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<Stage> stages = new ArrayList<>();
    private volatile boolean aborted;

    /** Starts {@code body} on a new daemon thread; a failure aborts the whole pipeline. */
    void start(String name, Body body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Aborted e) {
                // another stage's failure is the one reported
            } catch (Throwable e) {
                fail(e);
            }
        }, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
    }

    /** Records the first failure and tells every stage to stop. */
    void fail(Throwable e) {
        failure.compareAndSet(null, e);
        aborted = true;
    }

    boolean aborted() {
        return aborted;
    }

    /** The first failure of a helper stage, if any. */
    Throwable failure() {
        return failure.get();
    }

    /** Waits for every helper thread to end (they end once their work is done or the pipeline aborts). */
    void join() {
        boolean interrupted = false;
        for (Thread t : threads) {
            while (t.isAlive()) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    interrupted = true; // keep waiting: nothing may touch the output after execute() returns
                    aborted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Aborts (if still running) and joins. */
    @Override
    public void close() {
        aborted = true;
        join();
    }

    /** CPU time of the calling thread (user + system), or -1 where the JVM does not measure it. */
    private static long cpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        return threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : -1;
    }

    /** Creates the handle through which one stage waits; each stage uses its own, from one thread. */
    Stage stage(String name) {
        Stage s = new Stage(name);
        stages.add(s);
        return s;
    }

    /** Every stage's busy, CPU and waiting time, in the order the stages were created. */
    List<StageTime> times() {
        List<StageTime> times = new ArrayList<>();
        for (Stage s : stages) {
            times.add(s.time());
        }
        return times;
    }

    /**
     * A stage's blocking operations: each returns as soon as it can, or throws {@link Aborted}
     * once another stage failed. Also counts the time the stage spends waiting.
     */
    final class Stage {
        private final String name;
        private long started = System.nanoTime();
        private long ended;
        private long waitNanos;
        private long cpuStarted = cpuNanos();
        private long cpuNanos = -1;

        private Stage(String name) {
            this.name = name;
        }

        /** Restarts the stage's clock (call when the stage starts its work). */
        void begin() {
            started = System.nanoTime();
            cpuStarted = cpuNanos();
        }

        /** Stops the stage's clock; call from the stage's own thread. */
        void end() {
            ended = System.nanoTime();
            cpuNanos = cpuStarted < 0 ? -1 : cpuNanos() - cpuStarted;
        }

        boolean aborted() {
            return Pipeline.this.aborted;
        }

        <T> T take(BlockingQueue<T> queue) throws InterruptedException {
            T item = queue.poll();
            if (item != null) {
                return item;
            }
            long t0 = System.nanoTime();
            try {
                while (true) {
                    item = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                    if (item != null) {
                        return item;
                    }
                    checkAborted();
                }
            } finally {
                waitNanos += System.nanoTime() - t0;
            }
        }

        <T> void put(BlockingQueue<T> queue, T item) throws InterruptedException {
            if (queue.offer(item)) {
                return;
            }
            long t0 = System.nanoTime();
            try {
                while (!queue.offer(item, POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                    checkAborted();
                }
            } finally {
                waitNanos += System.nanoTime() - t0;
            }
        }

        void acquire(Semaphore permits) throws InterruptedException {
            if (permits.tryAcquire()) {
                return;
            }
            long t0 = System.nanoTime();
            try {
                while (!permits.tryAcquire(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                    checkAborted();
                }
            } finally {
                waitNanos += System.nanoTime() - t0;
            }
        }

        private void checkAborted() {
            if (Pipeline.this.aborted) {
                throw new Aborted();
            }
        }

        private StageTime time() {
            long total = (ended == 0 ? System.nanoTime() : ended) - started;
            return new StageTime(name, (total - waitNanos) / 1e9, cpuNanos < 0 ? -1 : cpuNanos / 1e9, waitNanos / 1e9);
        }
    }
}
