package dev.mergeline.core.merge;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Semaphore;

/**
 * A fixed number of reusable direct buffers of one size, shared between two pipeline stages, so
 * that the memory a merge holds does not grow with the model: a stage that finds no free buffer
 * waits for the next stage to hand one back.
 *
 * <p>Requests larger than the pool's size (a DoRA block that must hold a whole tensor, a single row
 * wider than the block budget) get a one-off buffer, at most one at a time, freed as soon as it is
 * released instead of waiting for the garbage collector ({@link #oneOff} wraps a mapping the same
 * way).
 *
 * <p>Buffers are allocated on first use, not up front: fresh memory is expensive to touch on some
 * virtual machines, and most merges never need every buffer.
 */
final class BufferPool {
    private static final MethodHandle INVOKE_CLEANER = invokeCleaner();
    /**
     * Pooled buffers start at a multiple of this and have this much room on either side of
     * {@code bufferBytes}, so that a block can be read with {@code O_DIRECT} (whole aligned pages
     * around it) into the same buffer ({@link Lease#place}).
     */
    static final int ALIGNMENT = 4096;

    private final int bufferBytes;
    private final BlockingQueue<ByteBuffer> free;
    private final Semaphore unallocated;
    private final Semaphore oversize = new Semaphore(1);
    /** Every pooled buffer's memory, as allocated (the pooled buffers are aligned slices of it). */
    private final java.util.Queue<ByteBuffer> allocations = new java.util.concurrent.ConcurrentLinkedQueue<>();

    BufferPool(int buffers, int bufferBytes) {
        if (buffers < 1 || bufferBytes < 0) {
            throw new IllegalArgumentException("buffers=" + buffers + " bufferBytes=" + bufferBytes);
        }
        this.bufferBytes = bufferBytes;
        this.free = new ArrayBlockingQueue<>(buffers);
        this.unallocated = new Semaphore(buffers);
    }

    /** Size of the pooled buffers; larger requests are one-off. */
    int bufferBytes() {
        return bufferBytes;
    }

    /** A buffer handed out by {@link #acquire}; {@link #view()} is what the caller uses. */
    final class Lease {
        private final ByteBuffer whole;
        private final int bytes;
        private final boolean oneOff;
        private ByteBuffer view;

        private Lease(ByteBuffer whole, int bytes, boolean oneOff) {
            this.whole = whole;
            this.bytes = bytes;
            this.oneOff = oneOff;
            place(0);
        }

        /** Little-endian, position 0, exactly the requested bytes. */
        ByteBuffer view() {
            return view;
        }

        /** The whole buffer (a pooled buffer: aligned, {@link #ALIGNMENT} bytes of room past the requested bytes). */
        ByteBuffer whole() {
            return whole.duplicate().clear();
        }

        /** Moves {@link #view()} to start {@code offset} bytes into {@link #whole()}. */
        void place(int offset) {
            view = whole.duplicate().clear().position(offset).limit(offset + bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
        }

        /** Hands the buffer back to the pool it came from. */
        void release() {
            BufferPool.this.release(this);
        }
    }

    /**
     * A buffer of exactly {@code bytes} bytes, waiting while every buffer is in use.
     *
     * @param stage the waiting stage; the wait ends with {@link Pipeline.Aborted} if another stage fails
     */
    Lease acquire(long bytes, Pipeline.Stage stage) throws InterruptedException {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalStateException("block of " + bytes + " bytes exceeds the limit of " + Integer.MAX_VALUE);
        }
        if (bytes > bufferBytes) {
            stage.acquire(oversize);
            try {
                return new Lease(ByteBuffer.allocateDirect((int) bytes), (int) bytes, true);
            } catch (OutOfMemoryError e) {
                oversize.release();
                throw e;
            }
        }
        ByteBuffer b = free.poll();
        if (b == null && unallocated.tryAcquire()) {
            try {
                ByteBuffer memory = ByteBuffer.allocateDirect(bufferBytes + 3 * ALIGNMENT);
                allocations.add(memory);
                b = memory.alignedSlice(ALIGNMENT);
            } catch (OutOfMemoryError e) {
                unallocated.release();
                throw e;
            }
        }
        if (b == null) {
            b = stage.take(free);
        }
        return new Lease(b, (int) bytes, false);
    }

    /** Makes a buffer, possibly failing with an IOException. */
    interface Maker {
        ByteBuffer make() throws IOException;
    }

    /**
     * A one-off lease of a buffer made elsewhere (a read-only mapping of the input), waiting while
     * another one-off lease is out; {@link #release} frees (unmaps) it. {@code made} must return a
     * buffer of its own (a mapping, not a slice of one), little-endian, exactly the bytes wanted.
     */
    Lease oneOff(Maker made, Pipeline.Stage stage) throws IOException, InterruptedException {
        stage.acquire(oversize);
        try {
            ByteBuffer b = made.make();
            return new Lease(b, b.remaining(), true);
        } catch (IOException | RuntimeException | Error e) {
            oversize.release();
            throw e;
        }
    }

    /** Hands a lease back; a one-off buffer is freed at once. */
    void release(Lease lease) {
        if (lease.oneOff) {
            free(lease.whole);
            oversize.release();
        } else if (!free.offer(lease.whole)) {
            throw new IllegalStateException("more buffers released than the pool holds");
        }
    }

    /** Frees every pooled buffer now; call once no lease is out. */
    void close() {
        free.clear();
        for (ByteBuffer b; (b = allocations.poll()) != null; ) {
            free(b);
        }
    }

    /** Frees a direct buffer's memory now (a no-op where the JDK offers no way to). */
    static void free(ByteBuffer direct) {
        if (INVOKE_CLEANER == null || !direct.isDirect()) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(direct);
        } catch (Throwable ignored) {
            // Not freeable now (a slice or duplicate): the collector frees it.
        }
    }

    /** {@code sun.misc.Unsafe.invokeCleaner} (JDK 9+, module jdk.unsupported), or null. */
    private static MethodHandle invokeCleaner() {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field f = unsafeClass.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            Object unsafe = f.get(null);
            return MethodHandles.lookup()
                    .findVirtual(unsafeClass, "invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class))
                    .bindTo(unsafe);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
