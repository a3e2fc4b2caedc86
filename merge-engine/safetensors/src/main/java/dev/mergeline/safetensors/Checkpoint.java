package dev.mergeline.safetensors;

import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_INDEX;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A Hugging Face checkpoint directory: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json}. Every file is opened and validated up front.
 */
public final class Checkpoint implements Closeable {

    /** Largest index file read. */
    static final long MAX_INDEX_BYTES = SafetensorsHeader.MAX_HEADER_BYTES;

    private record Located(SafetensorsFile file, TensorInfo info) {
    }

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, Located> tensors;
    private final List<String> names;

    private Checkpoint(Path dir, List<SafetensorsFile> files, Map<String, Located> tensors) {
        this.dir = dir;
        this.files = List.copyOf(files);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.names = List.copyOf(tensors.keySet());
    }

    /**
     * Opens a checkpoint directory. An index, when present, takes precedence over
     * {@code model.safetensors}; its shards are taken in file name order.
     *
     * @throws NoSuchFileException  if the directory holds neither file
     * @throws SafetensorsException INVALID_INDEX if the index is malformed, names a file that is
     *                              missing or not a plain name inside the directory, maps a tensor
     *                              to a file that lacks it, or leaves out a tensor a shard holds;
     *                              or a shard's own header error
     */
    public static Checkpoint open(Path dir) throws IOException {
        return open(dir, HeaderLimits.DEFAULT);
    }

    /** Like {@link #open(Path)}, every file's header read under {@code limits}. */
    public static Checkpoint open(Path dir, HeaderLimits limits) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(limits, "limits");
        Path indexFile = dir.resolve(FileNames.INDEX);
        if (Files.isRegularFile(indexFile)) {
            return openIndexed(dir, CheckpointIndex.parse(readIndex(indexFile)), limits);
        }
        Path single = dir.resolve(FileNames.SINGLE);
        if (!Files.exists(single)) {
            throw new NoSuchFileException(single.toString(), null,
                    "no " + FileNames.SINGLE + " or " + FileNames.INDEX + " in " + dir);
        }
        SafetensorsFile file = SafetensorsFile.open(single, limits);
        Map<String, Located> tensors = new LinkedHashMap<>();
        for (TensorInfo t : file.header().tensors()) {
            tensors.put(t.name(), new Located(file, t));
        }
        return new Checkpoint(dir, List.of(file), tensors);
    }

    private static byte[] readIndex(Path indexFile) throws IOException {
        try (FileChannel ch = FileChannel.open(indexFile, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_INDEX_BYTES) {
                throw new SafetensorsException(INVALID_INDEX, FileNames.INDEX + " has " + size
                        + " bytes, above the limit of " + MAX_INDEX_BYTES, null);
            }
        }
        return Files.readAllBytes(indexFile);
    }

    private static Checkpoint openIndexed(Path dir, CheckpointIndex index, HeaderLimits limits) throws IOException {
        List<String> shardFiles = index.shardFiles();
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            Map<String, SafetensorsHeader> headers = new LinkedHashMap<>();
            for (String fileName : shardFiles) {
                Path p = dir.resolve(fileName);
                if (!Files.isRegularFile(p)) {
                    throw index.missingShard(fileName);
                }
                SafetensorsFile f = SafetensorsFile.open(p, limits);
                files.add(f);
                byName.put(fileName, f);
                headers.put(fileName, f.header());
            }
            Map<String, Located> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : index.locate(headers).entrySet()) {
                SafetensorsFile f = byName.get(e.getValue());
                tensors.put(e.getKey(), new Located(f, f.header().tensor(e.getKey()).orElseThrow()));
            }
            return new Checkpoint(dir, files, tensors);
        } catch (IOException | RuntimeException e) {
            closeAll(files, e);
            throw e;
        }
    }

    private static void closeAll(List<SafetensorsFile> files, Throwable failure) {
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                failure.addSuppressed(e);
            }
        }
    }

    /** The checkpoint directory. */
    public Path dir() {
        return dir;
    }

    /** All tensor names: shard order, then data order within each shard. */
    public List<String> tensorNames() {
        return names;
    }

    /** The tensor with this name, if there is one. */
    public Optional<TensorInfo> tensor(String name) {
        Located at = tensors.get(name);
        return at == null ? Optional.empty() : Optional.of(at.info());
    }

    /** The file holding the named tensor; IllegalArgumentException if there is no such tensor. */
    public SafetensorsFile fileOf(String name) {
        Located at = tensors.get(name);
        if (at == null) {
            throw new IllegalArgumentException("checkpoint " + dir + " has no tensor '" + name + "'");
        }
        return at.file();
    }

    /** The files, in shard order. */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** The {@code __metadata__} of the first file. */
    public Map<String, String> metadata() {
        return files.get(0).header().metadata();
    }

    @Override
    public void close() throws IOException {
        IOException failure = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
