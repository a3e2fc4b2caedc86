package dev.mergeline.safetensors;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The staging buffers of one {@link CheckpointWriter}: at most {@code count} direct buffers of
 * {@code bufferBytes} (a multiple of {@code alignment}), each starting at a multiple of {@code alignment} (as {@code O_DIRECT} needs),
 * allocated on first use. Used by one thread.
 */
final class StagingBuffers {
    private final int count;
    private final int bufferBytes;
    private final int alignment;
    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private int allocated;

    StagingBuffers(int count, int bufferBytes, int alignment) {
        if (count < 1 || alignment < 1 || bufferBytes < alignment || bufferBytes % alignment != 0) {
            throw new IllegalArgumentException("count=" + count + " bufferBytes=" + bufferBytes + " alignment=" + alignment);
        }
        this.count = count;
        this.bufferBytes = bufferBytes;
        this.alignment = alignment;
    }

    int bufferBytes() {
        return bufferBytes;
    }

    int alignment() {
        return alignment;
    }

    /** A free buffer (cleared), a new one while fewer than {@code count} exist, or null. */
    ByteBuffer tryAcquire() {
        ByteBuffer b = free.poll();
        if (b == null && allocated < count) {
            b = ByteBuffer.allocateDirect(bufferBytes + alignment).alignedSlice(alignment).limit(bufferBytes).slice();
            allocated++;
        }
        return b == null ? null : b.clear();
    }

    void release(ByteBuffer buffer) {
        free.push(buffer);
    }
}
