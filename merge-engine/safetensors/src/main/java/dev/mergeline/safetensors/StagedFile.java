package dev.mergeline.safetensors;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * One output file written front to back through a few large staging buffers: {@link #write} copies
 * the caller's bytes into the current buffer, and {@link #reserve} hands the caller room in it to
 * compute the next bytes in place, without a copy; a full buffer is hashed on one thread while
 * another writes it, and the caller goes on filling the next. So SHA-256, the write and the caller's
 * own work overlap, every byte is hashed from memory as it passes (the file is never read back), and
 * the caller's buffers are free again as soon as {@code write} returns.
 *
 * <p>With {@link Mode#DIRECT} the file is opened with {@code O_DIRECT}: each staging buffer goes
 * from user memory to the device without a copy into the page cache and without dirty pages left
 * for a later {@code fsync} to flush; buffers, file positions and lengths are multiples of the file
 * system's block size, and the last, partial block is written padded and the file truncated to its
 * length. Where the file system refuses {@code O_DIRECT} (tmpfs, some network file systems) the file
 * is written through the page cache instead, with the same large writes.
 */
final class StagedFile implements Closeable {

    /** How the bytes reach the file. */
    enum Mode {
        /** {@code O_DIRECT} where the file system allows it, else {@link #BUFFERED}. */
        DIRECT,
        /** Through the page cache. */
        BUFFERED
    }

    private record InFlight(ByteBuffer buffer, Future<?> hashed, Future<?> written) {}

    private final Path path;
    private final FileChannel channel;
    private final boolean direct;
    private final int align;
    private final StagingBuffers buffers;
    private final ExecutorService hasher;
    private final ExecutorService io;
    private final MessageDigest digest;
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private ByteBuffer current;
    private long position;
    private long length;

    /**
     * Creates {@code path} (it must not exist).
     *
     * @param buffers the staging buffers, shared by the files of one writer, used by one file at a time
     * @param hasher one thread: hashes the staging buffers in order
     * @param io one thread: writes them in order
     */
    StagedFile(Path path, Mode mode, StagingBuffers buffers, ExecutorService hasher, ExecutorService io,
            MessageDigest digest) throws IOException {
        this.path = path;
        this.buffers = buffers;
        this.hasher = hasher;
        this.io = io;
        this.digest = digest;
        FileChannel ch = null;
        if (mode == Mode.DIRECT) {
            try {
                ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        ExtendedOpenOption.DIRECT);
            } catch (FileAlreadyExistsException e) {
                throw e;
            } catch (UnsupportedOperationException | IOException e) {
                if (ch != null) {
                    ch.close();
                    ch = null;
                }
                Files.deleteIfExists(path);
            }
        }
        this.direct = ch != null;
        this.channel = ch != null ? ch : FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        this.align = buffers.alignment();
    }

    /** Whether the file is written with {@code O_DIRECT}. */
    boolean direct() {
        return direct;
    }

    /** Bytes written so far (all of them handed to {@link #write}). */
    long length() {
        return length;
    }

    /** Copies all of {@code src} (its position ends at its limit) into the file. */
    void write(ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            if (current == null) {
                current = nextBuffer();
            }
            int n = Math.min(src.remaining(), current.remaining());
            current.put(src.duplicate().limit(src.position() + n));
            src.position(src.position() + n);
            length += n;
            if (!current.hasRemaining()) {
                submit();
            }
        }
    }

    /**
     * Room for the next {@code n} bytes of the file, in place in the current staging buffer. The
     * caller fills all of it before it next calls this file; those bytes are then hashed and written
     * exactly as if they had been passed to {@link #write}. When the current buffer has less room,
     * its whole aligned blocks are handed on and the rest (less than one block) moves to the head of
     * a fresh buffer, so that every write stays aligned.
     *
     * @return a little-endian buffer of exactly {@code n} bytes, or null when {@code n} bytes cannot be
     *     given in one piece (more than a buffer less one block, or no second buffer); then the
     *     caller writes them with {@link #write}
     */
    ByteBuffer reserve(int n) throws IOException {
        if (n < 0) {
            throw new IllegalArgumentException("reserve of " + n + " bytes");
        }
        if (n > buffers.bufferBytes() - align) {
            return null;
        }
        if (current == null) {
            current = nextBuffer();
        }
        if (current.remaining() < n) {
            // current holds more than one block here (n fits beside any tail), so the prefix is not empty
            ByteBuffer fresh = freeBuffer();
            if (fresh == null) {
                return null;
            }
            int filled = current.position();
            int aligned = filled - filled % align;
            fresh.put(current.duplicate().position(aligned).limit(filled));
            current.position(aligned);
            submit();
            current = fresh;
        }
        ByteBuffer room = current.slice(current.position(), n).order(ByteOrder.LITTLE_ENDIAN);
        current.position(current.position() + n);
        length += n;
        return room;
    }

    /**
     * Writes what is staged, waits for every write and hash, syncs and closes the file.
     *
     * @return the file's SHA-256, hex
     */
    String finish() throws IOException {
        if (current != null && current.position() > 0) {
            submit();
        }
        while (!inFlight.isEmpty()) {
            buffers.release(await(inFlight.poll()));
        }
        if (direct && channel.size() != length) {
            channel.truncate(length);
        }
        channel.force(true);
        channel.close();
        if (current != null) {
            buffers.release(current);
            current = null;
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Waits for the work in flight (its failures are not reported) and closes the file; idempotent. */
    @Override
    public void close() throws IOException {
        while (!inFlight.isEmpty()) {
            InFlight f = inFlight.poll();
            try {
                await(f);
            } catch (IOException e) {
                // the failure was reported by write() or finish(), or the file is being abandoned
            }
            buffers.release(f.buffer());
        }
        if (current != null) {
            buffers.release(current);
            current = null;
        }
        channel.close();
    }

    /** A free staging buffer: a new one while the pool has some, else the oldest one in flight once it is done. */
    private ByteBuffer nextBuffer() throws IOException {
        ByteBuffer b = freeBuffer();
        if (b == null) {
            throw new IllegalStateException("no staging buffer free and none in flight");
        }
        return b;
    }

    /** As {@link #nextBuffer}, or null when no buffer is free and none is in flight (all held by this file). */
    private ByteBuffer freeBuffer() throws IOException {
        ByteBuffer b = buffers.tryAcquire();
        if (b == null && !inFlight.isEmpty()) {
            b = await(inFlight.poll());
        }
        return b == null ? null : b.clear();
    }

    /** Hands the current buffer to the hashing and the writing thread. */
    private void submit() {
        ByteBuffer full = current.flip();
        current = null;
        int bytes = full.remaining();
        long at = position;
        position += bytes;
        ByteBuffer toHash = full.duplicate();
        Future<?> hashed = hasher.submit(() -> digest.update(toHash));
        ByteBuffer toWrite = full.duplicate();
        if (direct && bytes % align != 0) {
            // the last block of the file: written whole (zero padding), the file truncated in finish()
            int padded = bytes + (align - bytes % align);
            toWrite.limit(padded);
            for (int i = bytes; i < padded; i++) {
                toWrite.put(i, (byte) 0);
            }
        }
        Future<?> written = io.submit(() -> {
            long p = at;
            while (toWrite.hasRemaining()) {
                p += channel.write(toWrite, p);
            }
            return null;
        });
        inFlight.add(new InFlight(full, hashed, written));
    }

    /** Waits for both halves of {@code f} and returns its buffer. */
    private ByteBuffer await(InFlight f) throws IOException {
        try {
            f.written().get();
            f.hashed().get();
            return f.buffer();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw new IOException("writing " + path.getFileName() + ": " + io.getMessage(), io);
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException("writing " + path.getFileName() + " failed: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing " + path.getFileName(), e);
        }
    }
}
