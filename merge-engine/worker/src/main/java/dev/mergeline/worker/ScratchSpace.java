package dev.mergeline.worker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * This worker's part of the scratch directory, and the removal of what killed workers left there.
 *
 * <p>Each worker process owns {@code <root>/worker-<16 hex>/} (its jobs' inputs and outputs live in
 * {@code job-<jobId>/} below it) and holds an exclusive lock on {@code <root>/worker-<16 hex>.lock}
 * for as long as it runs. The operating system drops the lock when the process dies, however it dies
 * (SIGKILL, OOM kill), so at start a worker can tell leftovers from live neighbours: an entry named
 * {@code worker-<16 hex>} or {@code worker-<16 hex>.lock} whose lock it can take belongs to a worker
 * that is gone, and is removed (and logged); one whose lock is held is left alone. Nothing else in the
 * root is ever touched, so several workers — and other programs — can share one scratch volume.
 * Entries are removed only while their lock is held, and a new worker checks after locking that its
 * lock file is still in place, so a start and a clean-up running at the same moment cannot remove a
 * live worker's directory.
 */
final class ScratchSpace implements AutoCloseable {
    static final Pattern ENTRY = Pattern.compile("(worker-[0-9a-f]{16})(\\.lock)?");
    private static final String LOCK_SUFFIX = ".lock";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Logger LOG = Logger.getLogger(ScratchSpace.class);

    /** A leftover that was removed: its path and what it held. */
    record Removed(Path path, long files, long bytes) {}

    private final Path root;
    private final Path dir;
    private final Path lockFile;
    private final FileChannel channel;
    private final List<Removed> removed;

    private ScratchSpace(Path root, Path dir, Path lockFile, FileChannel channel, List<Removed> removed) {
        this.root = root;
        this.dir = dir;
        this.lockFile = lockFile;
        this.channel = channel;
        this.removed = removed;
    }

    /**
     * Removes the leftovers of dead workers from {@code root} (created if missing), then claims a
     * directory of its own.
     *
     * @throws IOException when the root cannot be used or does not support file locks
     */
    static ScratchSpace open(Path root) throws IOException {
        Files.createDirectories(root);
        List<Removed> removed = removeLeftovers(root);
        for (int attempt = 0; attempt < 10; attempt++) {
            String name = "worker-" + HexFormat.of().formatHex(randomBytes());
            Path lockFile = root.resolve(name + LOCK_SUFFIX);
            FileChannel channel;
            try {
                channel = FileChannel.open(lockFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                continue;
            }
            Object created = fileKey(lockFile);
            FileLock lock = tryLock(channel);
            // A clean-up elsewhere may have taken the lock first and deleted the file: start over then.
            if (lock == null || created == null || !Objects.equals(created, fileKey(lockFile))) {
                channel.close();
                continue;
            }
            Path dir = Files.createDirectories(root.resolve(name));
            return new ScratchSpace(root, dir, lockFile, channel, removed);
        }
        throw new IOException("cannot claim a scratch directory in " + root);
    }

    /** The scratch root shared with other workers. */
    Path root() {
        return root;
    }

    /** This worker's own directory: {@code <root>/worker-<16 hex>}. */
    Path dir() {
        return dir;
    }

    /** Where one job's files go (created by the caller, removed after the job). */
    Path jobDir(String jobId) {
        return dir.resolve("job-" + jobId);
    }

    /** What {@link #open} removed. */
    List<Removed> removed() {
        return removed;
    }

    /** Removes this worker's directory and lock file, then releases the lock. */
    @Override
    public void close() throws IOException {
        try {
            deleteTree(dir);
            Files.deleteIfExists(lockFile);
        } finally {
            channel.close();
        }
    }

    private static List<Removed> removeLeftovers(Path root) throws IOException {
        TreeSet<String> names = new TreeSet<>();
        try (Stream<Path> entries = Files.list(root)) {
            entries.forEach(p -> {
                Matcher m = ENTRY.matcher(p.getFileName().toString());
                if (m.matches()) {
                    names.add(m.group(1));
                }
            });
        }
        List<Removed> removed = new ArrayList<>();
        for (String name : names) {
            Path lockFile = root.resolve(name + LOCK_SUFFIX);
            Path dir = root.resolve(name);
            try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                if (tryLock(channel) == null) {
                    continue; // a live worker's
                }
                long[] counts = size(dir);
                deleteTree(dir);
                Files.deleteIfExists(lockFile); // while still locked: see open()
                Removed r = new Removed(dir, counts[0], counts[1]);
                removed.add(r);
                LOG.infof("removed %s, left by a worker that is gone (%d files, %d bytes)", dir, r.files(), r.bytes());
            } catch (NoSuchFileException e) {
                // removed meanwhile by another worker's clean-up
            } catch (IOException e) {
                LOG.warnf("cannot remove %s, left by a worker that is gone: %s", dir, e.getMessage());
            }
        }
        return removed;
    }

    /** The lock, or null when another process — or this one — holds it. */
    private static FileLock tryLock(FileChannel channel) throws IOException {
        try {
            return channel.tryLock();
        } catch (OverlappingFileLockException e) {
            return null;
        } catch (IOException e) {
            throw new IOException("the scratch directory does not support file locks (" + e.getMessage()
                    + "); put it on a local volume", e);
        }
    }

    private static Object fileKey(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return a.fileKey() != null ? a.fileKey() : a.creationTime();
        } catch (IOException e) {
            return null;
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[8];
        RANDOM.nextBytes(b);
        return b;
    }

    /** {files, bytes} below {@code dir}; zeros when it does not exist. */
    private static long[] size(Path dir) throws IOException {
        long[] counts = new long[2];
        if (!Files.isDirectory(dir)) {
            return counts;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.filter(Files::isRegularFile).forEach(p -> {
                counts[0]++;
                try {
                    counts[1] += Files.size(p);
                } catch (IOException ignored) {
                    // gone meanwhile
                }
            });
        }
        return counts;
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
