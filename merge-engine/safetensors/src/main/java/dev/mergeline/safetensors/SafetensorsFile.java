package dev.mergeline.safetensors;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/** An open safetensors file, read through memory mappings. Thread-safe for reads. */
public final class SafetensorsFile implements Closeable {

    private final Path path;
    private final FileChannel channel;
    private final SafetensorsHeader header;

    private SafetensorsFile(Path path, FileChannel channel, SafetensorsHeader header) {
        this.path = path;
        this.channel = channel;
        this.header = header;
    }

    /** Opens a file and validates its header against the file's real size, under the format's own limits. */
    public static SafetensorsFile open(Path file) throws IOException {
        return open(file, HeaderLimits.DEFAULT);
    }

    /**
     * Opens a file and validates its header against the file's real size and {@code limits}
     * (enforced before the header, or the entries past the tensor limit, are read).
     */
    public static SafetensorsFile open(Path file, HeaderLimits limits) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(limits, "limits");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new SafetensorsFile(file, ch, SafetensorsHeader.read(ch, limits));
        } catch (IOException | RuntimeException e) {
            try {
                ch.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** The path the file was opened from. */
    public Path path() {
        return path;
    }

    /** The validated header. */
    public SafetensorsHeader header() {
        return header;
    }

    /** The underlying read-only channel; use positional reads only, it is shared. */
    public FileChannel channel() {
        return channel;
    }

    /**
     * Read-only little-endian view of {@code length} bytes of tensor t starting at byte
     * {@code offsetInTensor} (zero-copy, from a mapping of just that window; a single mapping is
     * limited to 2 GiB, so read big tensors in chunks).
     *
     * @throws IllegalArgumentException  if t is not a tensor of this file
     * @throws IndexOutOfBoundsException if the window is not inside the tensor
     */
    public ByteBuffer slice(TensorInfo t, long offsetInTensor, int length) throws IOException {
        checkOwn(t);
        if (offsetInTensor < 0 || length < 0 || offsetInTensor > t.byteLength() - length) {
            throw new IndexOutOfBoundsException("window of " + length + " bytes at offset " + offsetInTensor
                    + " is outside tensor '" + t.name() + "' of " + t.byteLength() + " bytes");
        }
        long position = header.dataStart() + t.dataOffset() + offsetInTensor;
        return channel.map(FileChannel.MapMode.READ_ONLY, position, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Copies the raw bytes of tensor t to target with {@link FileChannel#transferTo}. */
    public void transferTo(TensorInfo t, WritableByteChannel target) throws IOException {
        checkOwn(t);
        Objects.requireNonNull(target, "target");
        long start = header.dataStart() + t.dataOffset();
        long done = 0;
        while (done < t.byteLength()) {
            long n = channel.transferTo(start + done, t.byteLength() - done, target);
            if (n <= 0) {
                throw new IOException("copying tensor '" + t.name() + "' from " + path + " stopped after " + done
                        + " of " + t.byteLength() + " bytes (file truncated, or target not accepting data)");
            }
            done += n;
        }
    }

    private void checkOwn(TensorInfo t) {
        Objects.requireNonNull(t, "tensor");
        TensorInfo own = header.tensor(t.name()).orElse(null);
        if (!t.equals(own)) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' with offset " + t.dataOffset()
                    + " and length " + t.byteLength() + " is not a tensor of " + path);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + header.tensors().size() + " tensors]";
    }
}
