package dev.mergeline.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * A small pool of reusable direct buffers for the cases ONNX Runtime cannot use the caller's
 * memory in place (heap inputs, heap or read-only outputs). Thread-safe.
 */
final class ScratchBuffers {

    private static final int MAX_POOLED = 8;

    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();

    /** A native-order direct buffer with position 0 and limit {@code bytes}. */
    ByteBuffer borrow(int bytes) {
        synchronized (free) {
            for (Iterator<ByteBuffer> it = free.iterator(); it.hasNext(); ) {
                ByteBuffer candidate = it.next();
                if (candidate.capacity() >= bytes) {
                    it.remove();
                    return candidate.clear().limit(bytes);
                }
            }
        }
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }

    /** Returns a buffer from {@link #borrow}; the smallest is dropped when the pool is full. */
    void release(ByteBuffer buffer) {
        synchronized (free) {
            free.addFirst(buffer);
            if (free.size() > MAX_POOLED) {
                ByteBuffer smallest = free.peekFirst();
                for (ByteBuffer b : free) {
                    if (b.capacity() < smallest.capacity()) {
                        smallest = b;
                    }
                }
                free.remove(smallest);
            }
        }
    }

    void clear() {
        synchronized (free) {
            free.clear();
        }
    }
}
