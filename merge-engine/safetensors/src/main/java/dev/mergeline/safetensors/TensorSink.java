package dev.mergeline.safetensors;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Receives exactly one tensor's bytes for a {@link CheckpointWriter}. The SHA-256 of the output
 * file is computed while writing, so the output is never read back.
 */
public interface TensorSink extends Closeable {

    /** The tensor this sink receives. */
    TensorSpec spec();

    /** Bytes still expected. */
    long remaining();

    /**
     * Writes all {@code data.remaining()} bytes (the buffer's position ends at its limit).
     *
     * @throws IllegalStateException if that is more than {@link #remaining()}, or the sink is no
     *                               longer current
     */
    void write(ByteBuffer data) throws IOException;

    /**
     * Room for the next {@code n} bytes of this tensor, to be filled in place instead of written: the
     * caller puts exactly {@code n} bytes into the returned buffer before its next call to this sink
     * or its writer, which then hash and write them as {@link #write} would. Counts as written at once.
     *
     * @return a writable little-endian buffer of exactly {@code n} bytes, or null when this sink cannot
     *     offer them in one piece (the caller then uses {@link #write})
     * @throws IllegalStateException if {@code n} is more than {@link #remaining()}, or the sink is no
     *                               longer current
     */
    ByteBuffer reserve(int n) throws IOException;

    /**
     * Copies {@code length} bytes from {@code source} at {@code position}: read once into a reused
     * buffer, then hashed and written as {@link #write} does. The source's position is not changed.
     *
     * @throws IllegalStateException     if length is more than {@link #remaining()}
     * @throws IndexOutOfBoundsException if the range is not inside the source
     */
    void copyFrom(FileChannel source, long position, long length) throws IOException;

    /** Ends this tensor; IllegalStateException if {@link #remaining()} is not 0. */
    @Override
    void close() throws IOException;
}
