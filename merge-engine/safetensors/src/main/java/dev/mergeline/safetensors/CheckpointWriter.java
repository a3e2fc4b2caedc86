package dev.mergeline.safetensors;

import static dev.mergeline.safetensors.SafetensorsException.Reason.HEADER_TOO_LARGE;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;

/**
 * Writes a {@link ShardLayout} into a directory. Every file is first written to a hidden temporary
 * name ({@code '.' + name + ".tmp-" + random}); {@link #commit()} syncs the files and renames them
 * into place with {@code ATOMIC_MOVE}, the index last. {@link #close()} without a commit deletes
 * the temporary files. Not thread-safe: one thread calls it, while two threads of its own
 * ({@code mergeline-hash}, {@code mergeline-io}) hash and write each shard's staged bytes
 * ({@link StagedFile}: 16 MiB buffers, {@code O_DIRECT} where the file system allows it), so the
 * caller's {@link TensorSink#write} returns after a memory copy, and {@link TensorSink#reserve}
 * lets it compute a tensor's next bytes straight into the staging buffer. Each file's SHA-256 is computed
 * from those staged bytes while they are written, never by reading the file back; {@link #commit()}
 * returns it with the file's size.
 *
 * <p>Each shard's header holds {@code "__metadata__"} first ({@code {"format": "pt", ...}}), then
 * the tensors in layout order with contiguous data_offsets, padded with spaces so that the data
 * section starts at a multiple of 8 bytes, as the Python safetensors library writes it.
 */
public final class CheckpointWriter implements Closeable {

    /** Bytes per staging buffer: each is hashed and written in one piece. */
    static final int STAGING_BYTES = 16 << 20;
    /** Staging buffers: one being filled, one being hashed and written, one spare. */
    private static final int STAGING_BUFFERS = 3;
    /** Bytes per read when {@code copyFrom} copies a range. */
    private static final int COPY_BUFFER = 1 << 20;

    private enum State { OPEN, FAILED, COMMITTED, CLOSED }

    private final Path dir;
    private final ShardLayout layout;
    private final List<byte[]> headers;
    private final List<TensorSpec> order;
    private final int[] shardOfTensor;
    private final String suffix;

    private final List<Path> temps = new ArrayList<>();
    private final List<WrittenFile> written = new ArrayList<>();
    private State state = State.OPEN;
    private int shardIndex = -1;
    private final StagedFile.Mode mode;
    private StagingBuffers staging;
    private ExecutorService hasher;
    private ExecutorService io;
    private StagedFile out;
    private int nextTensor;
    private Sink current;
    private ByteBuffer copyBuffer;

    /**
     * Prepares every shard header; no file is created before the first {@link #next(String)}.
     *
     * @param dir      target directory, created if missing
     * @param layout   the shards to write
     * @param metadata entries for every shard's {@code __metadata__}, after {@code "format": "pt"}
     *                 (a "format" entry here replaces "pt" in place); null for none
     * @throws IllegalArgumentException if a shard file name is not a plain file name
     * @throws SafetensorsException     HEADER_TOO_LARGE if a shard header would exceed
     *                                  {@link SafetensorsHeader#MAX_HEADER_BYTES}
     */
    public CheckpointWriter(Path dir, ShardLayout layout, Map<String, String> metadata) throws IOException {
        this(dir, layout, metadata, StagedFile.Mode.DIRECT);
    }

    /** As {@link #CheckpointWriter(Path, ShardLayout, Map)}, writing the shards in {@code mode}. */
    CheckpointWriter(Path dir, ShardLayout layout, Map<String, String> metadata, StagedFile.Mode mode)
            throws IOException {
        this.dir = Objects.requireNonNull(dir, "dir");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.layout = Objects.requireNonNull(layout, "layout");
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        if (metadata != null) {
            metadata.forEach((k, v) -> meta.put(Objects.requireNonNull(k, "metadata key"),
                    Objects.requireNonNull(v, () -> "metadata value for '" + k + "'")));
        }
        this.headers = new ArrayList<>();
        this.order = layout.tensors();
        this.shardOfTensor = new int[order.size()];
        int t = 0;
        for (int s = 0; s < layout.shards().size(); s++) {
            ShardLayout.Shard shard = layout.shards().get(s);
            String problem = FileNames.problem(shard.fileName());
            if (problem != null || shard.fileName().equals(FileNames.INDEX)) {
                throw new IllegalArgumentException("shard " + (s + 1) + ": "
                        + (problem != null ? problem : "file name '" + FileNames.INDEX + "' is reserved for the index"));
            }
            headers.add(header(shard, meta));
            for (int i = 0; i < shard.tensors().size(); i++) {
                shardOfTensor[t++] = s;
            }
        }
        byte[] random = new byte[6];
        new SecureRandom().nextBytes(random);
        this.suffix = HexFormat.of().formatHex(random);
        Files.createDirectories(dir);
    }

    /** The 8-byte length prefix and padded JSON header of one shard; checked by parsing it back. */
    static byte[] header(ShardLayout.Shard shard, Map<String, String> metadata) throws IOException {
        ByteArrayOutputStream json = new ByteArrayOutputStream();
        long offset = 0;
        try (JsonGenerator g = JsonSupport.compactGenerator(json)) {
            g.writeStartObject();
            g.writeObjectFieldStart(HeaderParser.METADATA_KEY);
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
            for (TensorSpec t : shard.tensors()) {
                long end = Math.addExact(offset, t.byteLength());
                g.writeObjectFieldStart(t.name());
                g.writeStringField("dtype", t.dtype().safetensorsName());
                g.writeArrayFieldStart("shape");
                for (long d : t.shape()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(end);
                g.writeEndArray();
                g.writeEndObject();
                offset = end;
            }
            g.writeEndObject();
        }
        int prefix = SafetensorsHeader.PREFIX_BYTES;
        int n = json.size();
        int padded = n + (prefix - n % prefix) % prefix;
        if (padded > SafetensorsHeader.MAX_HEADER_BYTES) {
            throw new SafetensorsException(HEADER_TOO_LARGE, "header of '" + shard.fileName() + "' would be " + padded
                    + " bytes, above the limit of " + SafetensorsHeader.MAX_HEADER_BYTES, null);
        }
        byte[] out = new byte[prefix + padded];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        System.arraycopy(json.toByteArray(), 0, out, prefix, n);
        Arrays.fill(out, prefix + n, out.length, (byte) ' ');
        SafetensorsHeader.parse(Arrays.copyOfRange(out, prefix, out.length),
                Math.addExact((long) out.length, offset));
        return out;
    }

    /** The layout being written. */
    public ShardLayout layout() {
        return layout;
    }

    /**
     * Returns the sink for the next tensor in layout order.
     *
     * @throws IllegalStateException if the name is not the next one, the previous sink still
     *                               expects bytes, or the writer is no longer open
     */
    public TensorSink next(String tensorName) throws IOException {
        checkOpen();
        if (current != null && current.remaining > 0) {
            throw new IllegalStateException("tensor '" + current.spec.name() + "' still expects " + current.remaining
                    + " of " + current.spec.byteLength() + " bytes; cannot start '" + tensorName + "'");
        }
        if (nextTensor >= order.size()) {
            throw new IllegalStateException("all " + order.size() + " tensors are written; '" + tensorName
                    + "' is not in the layout or was already written");
        }
        TensorSpec spec = order.get(nextTensor);
        if (!spec.name().equals(tensorName)) {
            throw new IllegalStateException("expected tensor '" + spec.name() + "' (" + (nextTensor + 1) + " of "
                    + order.size() + " in layout order) but got '" + tensorName + "'");
        }
        try {
            while (shardIndex < shardOfTensor[nextTensor]) {
                advanceShard();
            }
        } catch (IOException | RuntimeException e) {
            state = State.FAILED;
            throw e;
        }
        nextTensor++;
        current = new Sink(spec);
        return current;
    }

    /**
     * Once every tensor is written: syncs and renames the shards into place, then writes
     * {@code model.safetensors.index.json} the same way when the layout is sharded (when it is not,
     * a stale index in the directory is deleted, as it would hide the new file).
     *
     * @return every file written, in order (index last), with its size and SHA-256
     * @throws IllegalStateException if tensors are missing or the writer is no longer open
     */
    public List<WrittenFile> commit() throws IOException {
        checkOpen();
        if (current != null && current.remaining > 0) {
            throw new IllegalStateException("tensor '" + current.spec.name() + "' still expects " + current.remaining
                    + " of " + current.spec.byteLength() + " bytes");
        }
        if (nextTensor < order.size()) {
            throw new IllegalStateException(nextTensor + " of " + order.size() + " tensors are written; next missing is '"
                    + order.get(nextTensor).name() + "'");
        }
        try {
            while (shardIndex < layout.shards().size() - 1) {
                advanceShard();
            }
            finishShard();
            stopThreads();
            for (int s = 0; s < temps.size(); s++) {
                Files.move(temps.get(s), dir.resolve(layout.shards().get(s).fileName()), StandardCopyOption.ATOMIC_MOVE);
            }
            temps.clear();
            if (layout.sharded()) {
                written.add(writeIndex());
            } else {
                Files.deleteIfExists(dir.resolve(FileNames.INDEX));
            }
            syncDirectory();
        } catch (IOException | RuntimeException e) {
            state = State.FAILED;
            throw e;
        }
        current = null;
        state = State.COMMITTED;
        return List.copyOf(written);
    }

    /** Deletes the temporary files unless committed; idempotent. */
    @Override
    public void close() throws IOException {
        if (state == State.COMMITTED || state == State.CLOSED) {
            state = State.CLOSED;
            return;
        }
        state = State.CLOSED;
        IOException failure = null;
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                failure = e;
            }
            out = null;
        }
        stopThreads();
        for (Path p : temps) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        temps.clear();
        if (failure != null) {
            throw failure;
        }
    }

    private void checkOpen() {
        if (state != State.OPEN) {
            throw new IllegalStateException("checkpoint writer for " + dir + " is " + state.name().toLowerCase()
                    + (state == State.FAILED ? " after an earlier error" : ""));
        }
    }

    private Path tempFor(String fileName) {
        return dir.resolve("." + fileName + ".tmp-" + suffix);
    }

    private void advanceShard() throws IOException {
        finishShard();
        shardIndex++;
        String name = layout.shards().get(shardIndex).fileName();
        Path temp = tempFor(name);
        if (staging == null) {
            staging = new StagingBuffers(STAGING_BUFFERS, STAGING_BYTES, alignment(dir));
            hasher = Executors.newSingleThreadExecutor(daemon("mergeline-hash"));
            io = Executors.newSingleThreadExecutor(daemon("mergeline-io"));
        }
        temps.add(temp);
        out = new StagedFile(temp, mode, staging, hasher, io, sha256());
        writeOut(ByteBuffer.wrap(headers.get(shardIndex)));
    }

    private void finishShard() throws IOException {
        if (out == null) {
            return;
        }
        ShardLayout.Shard shard = layout.shards().get(shardIndex);
        long expected = headers.get(shardIndex).length + shard.tensorBytes();
        if (out.length() != expected) {
            throw new IOException("shard '" + shard.fileName() + "' has " + out.length() + " bytes, expected " + expected);
        }
        String sha = out.finish();
        out = null;
        written.add(new WrittenFile(shard.fileName(), expected, sha));
    }

    /** The file system's block size (what {@code O_DIRECT} aligns to), at least 4096. */
    private static int alignment(Path dir) {
        try {
            long size = Files.getFileStore(dir).getBlockSize();
            return size >= 4096 && size <= STAGING_BYTES && STAGING_BYTES % size == 0 ? (int) size : 4096;
        } catch (IOException | UnsupportedOperationException e) {
            return 4096;
        }
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Ends the hashing and writing threads (their work is done or abandoned by now) and waits for them. */
    private void stopThreads() {
        boolean interrupted = false;
        for (ExecutorService e : new ExecutorService[] {hasher, io}) {
            if (e != null) {
                e.shutdown();
                try {
                    e.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES);
                } catch (InterruptedException ie) {
                    interrupted = true;
                }
            }
        }
        hasher = null;
        io = null;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private WrittenFile writeIndex() throws IOException {
        byte[] json = CheckpointIndex.of(layout).toJson();
        Path temp = tempFor(FileNames.INDEX);
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            temps.add(temp);
            ByteBuffer b = ByteBuffer.wrap(json);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(temp, dir.resolve(FileNames.INDEX), StandardCopyOption.ATOMIC_MOVE);
        temps.clear();
        return new WrittenFile(FileNames.INDEX, json.length, HexFormat.of().formatHex(sha256().digest(json)));
    }

    private void syncDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not every platform can open or sync a directory; the files themselves are synced.
        }
    }

    /** Hashes and writes all of b to the current shard. */
    private void writeOut(ByteBuffer b) throws IOException {
        out.write(b);
    }

    /** Copies {@code length} bytes of {@code source} at {@code position} into the current shard, read once. */
    private void copyRange(FileChannel source, long position, long length) throws IOException {
        if (copyBuffer == null) {
            copyBuffer = ByteBuffer.allocateDirect(COPY_BUFFER);
        }
        for (long done = 0; done < length; ) {
            copyBuffer.clear().limit((int) Math.min(COPY_BUFFER, length - done));
            while (copyBuffer.hasRemaining()) {
                if (source.read(copyBuffer, position + done + copyBuffer.position()) < 0) {
                    throw new IOException("source of tensor '" + current.spec.name() + "' ends after "
                            + (position + done + copyBuffer.position()) + " bytes, expected " + (position + length));
                }
            }
            done += copyBuffer.limit();
            writeOut(copyBuffer.flip());
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    /** The sink of one tensor; valid until the next call to next() or commit(). */
    private final class Sink implements TensorSink {
        private final TensorSpec spec;
        private long remaining;

        Sink(TensorSpec spec) {
            this.spec = spec;
            this.remaining = spec.byteLength();
        }

        @Override
        public TensorSpec spec() {
            return spec;
        }

        @Override
        public long remaining() {
            return remaining;
        }

        /** IllegalStateException unless {@code n} more bytes fit in this tensor. */
        private void requireRoom(String what, long n) {
            if (n > remaining) {
                throw new IllegalStateException("tensor '" + spec.name() + "': " + what + " of " + n + " bytes exceeds the "
                        + remaining + " bytes still expected (of " + spec.byteLength() + ")");
            }
        }

        @Override
        public void write(ByteBuffer data) throws IOException {
            checkCurrent();
            int n = data.remaining();
            requireRoom("write", n);
            try {
                writeOut(data);
            } catch (IOException | RuntimeException e) {
                state = State.FAILED;
                throw e;
            }
            remaining -= n;
        }

        @Override
        public ByteBuffer reserve(int n) throws IOException {
            checkCurrent();
            requireRoom("reserve", n);
            ByteBuffer room;
            try {
                room = out.reserve(n);
            } catch (IOException | RuntimeException e) {
                state = State.FAILED;
                throw e;
            }
            if (room != null) {
                remaining -= n;
            }
            return room;
        }

        @Override
        public void copyFrom(FileChannel source, long position, long length) throws IOException {
            checkCurrent();
            Objects.requireNonNull(source, "source");
            requireRoom("copy", length);
            long size = source.size();
            if (position < 0 || length < 0 || position > size - length) {
                throw new IndexOutOfBoundsException("range of " + length + " bytes at " + position
                        + " is outside the source of " + size + " bytes");
            }
            try {
                copyRange(source, position, length);
            } catch (IOException | RuntimeException e) {
                state = State.FAILED;
                throw e;
            }
            remaining -= length;
        }

        @Override
        public void close() {
            if (remaining != 0) {
                throw new IllegalStateException("tensor '" + spec.name() + "' closed with " + remaining + " of "
                        + spec.byteLength() + " bytes unwritten");
            }
        }

        private void checkCurrent() {
            checkOpen();
            if (current != this) {
                throw new IllegalStateException("the sink of tensor '" + spec.name() + "' is no longer current");
            }
        }
    }
}
