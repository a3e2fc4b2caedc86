package dev.mergeline.core.merge;

import java.nio.ByteBuffer;

/** The buffer check every kernel makes before it computes: a buffer holds exactly the bytes its tensor block needs. */
public final class BufferSizes {
    private BufferSizes() {}

    /**
     * @param what the buffer's role, named in the error ({@code base}, {@code out}, ...)
     * @throws IllegalArgumentException when {@code buffer}'s remaining bytes are not {@code expected}
     */
    public static void requireBytes(String what, ByteBuffer buffer, long expected) {
        if (buffer.remaining() != expected) {
            throw new IllegalArgumentException(what + " holds " + buffer.remaining() + " bytes, expected " + expected);
        }
    }
}
