package dev.mergeline.core.output;

import dev.mergeline.safetensors.WrittenFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * The directory a merge writes into. Every file is written under a hidden temporary name and
 * renamed into place when complete; {@link #rollback()} removes everything this run put there, so
 * a failed merge leaves the directory as it found it (empty).
 */
public final class OutputDirectory {
    private final Path dir;
    private final List<Path> committed = new ArrayList<>();

    private OutputDirectory(Path dir) {
        this.dir = dir;
    }

    /** Creates {@code dir} if needed; refuses a directory that already holds files. */
    public static OutputDirectory prepare(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            if (entries.iterator().hasNext()) {
                throw new IOException("output directory " + dir + " is not empty; choose a new directory");
            }
        }
        return new OutputDirectory(dir);
    }

    public Path path() {
        return dir;
    }

    /** Records files committed by another writer (the checkpoint shards) for rollback. */
    public void adopt(List<WrittenFile> files) {
        files.forEach(f -> committed.add(dir.resolve(f.fileName())));
    }

    public WrittenFile write(String name, byte[] content) throws IOException {
        Path tmp = temp(name);
        MessageDigest sha = sha256();
        try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW), sha)) {
            out.write(content);
        }
        return commit(tmp, name, content.length, sha);
    }

    public WrittenFile copy(Path source, String name) throws IOException {
        Path tmp = temp(name);
        MessageDigest sha = sha256();
        long bytes;
        try (InputStream in = Files.newInputStream(source);
                OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW), sha)) {
            bytes = in.transferTo(out);
        }
        return commit(tmp, name, bytes, sha);
    }

    /** Deletes every file this run committed and any temporary file left behind. */
    public void rollback() {
        for (Path p : committed) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort: the manifest was never written, so the output is not complete anyway
            }
        }
        try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, ".*.tmp-*")) {
            for (Path p : temps) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // best effort, as above
        }
    }

    private WrittenFile commit(Path tmp, String name, long bytes, MessageDigest sha) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Path target = dir.resolve(name);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        committed.add(target);
        return new WrittenFile(name, bytes, HexFormat.of().formatHex(sha.digest()));
    }

    private Path temp(String name) {
        if (name.contains("/") || name.startsWith(".")) {
            throw new IllegalArgumentException("bad output file name " + name);
        }
        return dir.resolve("." + name + ".tmp-" + UUID.randomUUID());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
