package dev.mergeline.worker;

import dev.mergeline.core.output.Hashes;
import dev.mergeline.s3.ObjectChangedException;
import dev.mergeline.s3.ObjectInfo;
import dev.mergeline.s3.ObjectStore;
import dev.mergeline.s3.StorageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.LongConsumer;

/**
 * An object store in memory for tests of the job recipe: one bucket's objects, the order in which
 * they were written, and failures queued per operation that the next calls of it throw.
 */
final class InMemoryObjectStore implements ObjectStore {
    /** The operations a failure can be queued for. */
    enum Op { LIST, HEAD, GET, DOWNLOAD, UPLOAD, PUT }

    private record Stored(byte[] data, String etag) {}

    private final String bucket;
    private final Map<String, Stored> objects = new TreeMap<>();
    private final List<String> writes = new ArrayList<>();
    private final Map<Op, Deque<RuntimeOrStorage>> failures = new java.util.EnumMap<>(Op.class);
    private long read;
    private long written;

    /** A queued failure: a storage exception or an unexpected runtime one. */
    private record RuntimeOrStorage(StorageException storage, RuntimeException runtime) {}

    InMemoryObjectStore(String bucket) {
        this.bucket = bucket;
    }

    /** Stores {@code data} under {@code key}; its ETag is derived from the bytes. */
    String put(String key, byte[] data) {
        String etag = Hashes.sha256(data).substring(0, 32);
        objects.put(key, new Stored(data.clone(), etag));
        return etag;
    }

    /** Every plain file of {@code dir} under {@code prefix}; returns file name → ETag. */
    Map<String, String> putDir(Path dir, String prefix) throws IOException {
        Map<String, String> etags = new TreeMap<>();
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                etags.put(f.getFileName().toString(), put(prefix + f.getFileName(), Files.readAllBytes(f)));
            }
        }
        return etags;
    }

    /** The next call of {@code op} throws {@code failure} (queued in order). */
    void failNext(Op op, StorageException failure) {
        failures.computeIfAbsent(op, o -> new ArrayDeque<>()).add(new RuntimeOrStorage(failure, null));
    }

    /** The next call of {@code op} throws {@code failure}, as a broken dependency would. */
    void failNext(Op op, RuntimeException failure) {
        failures.computeIfAbsent(op, o -> new ArrayDeque<>()).add(new RuntimeOrStorage(null, failure));
    }

    /** Keys in the order they were written by uploads and puts. */
    List<String> writes() {
        return List.copyOf(writes);
    }

    /** Keys under {@code prefix}. */
    List<String> keys(String prefix) {
        return objects.keySet().stream().filter(k -> k.startsWith(prefix)).toList();
    }

    byte[] bytes(String key) {
        return objects.get(key).data().clone();
    }

    private void maybeFail(Op op) throws StorageException {
        Deque<RuntimeOrStorage> queued = failures.get(op);
        RuntimeOrStorage next = queued == null ? null : queued.poll();
        if (next != null && next.storage() != null) {
            throw next.storage();
        }
        if (next != null) {
            throw next.runtime();
        }
    }

    private void checkBucket(String b) {
        if (!bucket.equals(b)) {
            throw new IllegalArgumentException("no bucket " + b);
        }
    }

    @Override
    public long bytesRead() {
        return read;
    }

    @Override
    public long bytesWritten() {
        return written;
    }

    @Override
    public List<ObjectInfo> list(String b, String prefix) throws StorageException {
        checkBucket(b);
        maybeFail(Op.LIST);
        List<ObjectInfo> out = new ArrayList<>();
        objects.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.add(new ObjectInfo(k, v.data().length, v.etag()));
            }
        });
        return out;
    }

    @Override
    public Optional<ObjectInfo> head(String b, String key) throws StorageException {
        checkBucket(b);
        maybeFail(Op.HEAD);
        Stored s = objects.get(key);
        return s == null ? Optional.empty() : Optional.of(new ObjectInfo(key, s.data().length, s.etag()));
    }

    @Override
    public byte[] getSmall(String b, String key, long maxBytes) throws StorageException {
        checkBucket(b);
        maybeFail(Op.GET);
        Stored s = objects.get(key);
        if (s == null || s.data().length > maxBytes) {
            throw new StorageException("get s3://" + b + "/" + key + ": absent or too large", false, null);
        }
        read += s.data().length;
        return s.data().clone();
    }

    @Override
    public void download(String b, ObjectInfo object, Path target, LongConsumer progress) throws StorageException {
        checkBucket(b);
        maybeFail(Op.DOWNLOAD);
        Stored s = objects.get(object.key());
        if (s == null || !s.etag().equals(object.etag())) {
            throw new ObjectChangedException(b, object.key(), object.etag(), s == null ? null : s.etag(), null);
        }
        try {
            Files.write(target, s.data());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        read += s.data().length;
        progress.accept(s.data().length);
    }

    @Override
    public String upload(Path file, String b, String key, String contentType, LongConsumer progress)
            throws StorageException {
        checkBucket(b);
        maybeFail(Op.UPLOAD);
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new StorageException("cannot read " + file, false, e);
        }
        writes.add(key);
        written += data.length;
        progress.accept(data.length);
        return put(key, data);
    }

    @Override
    public void putBytes(byte[] data, String b, String key, String contentType) throws StorageException {
        checkBucket(b);
        maybeFail(Op.PUT);
        writes.add(key);
        written += data.length;
        put(key, data);
    }
}
