package dev.mergeline.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The validated header of a safetensors file: its length, its {@code __metadata__} and its
 * tensors.
 *
 * @param headerLength length N of the JSON header in bytes (the file starts with 8 + N bytes of
 *                     header)
 * @param metadata     the {@code __metadata__} map, in file order; empty if absent
 * @param tensors      the tensors, sorted by data offset
 */
public record SafetensorsHeader(long headerLength, Map<String, String> metadata, List<TensorInfo> tensors) {

    /** Largest header accepted, as in the reference implementation. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Size of the little-endian header length prefix. */
    static final int PREFIX_BYTES = 8;

    /**
     * Copies and sorts; does not check the data layout (that is what {@link #parse} does).
     *
     * @throws IllegalArgumentException on a negative header length or a repeated tensor name
     */
    public SafetensorsHeader {
        if (headerLength < 0) {
            throw new IllegalArgumentException("header length must be >= 0, got " + headerLength);
        }
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        tensors = TensorList.sortedCopyOf(tensors);
    }

    /** Offset of the data section in the file: 8 + headerLength. */
    public long dataStart() {
        return PREFIX_BYTES + headerLength;
    }

    /** Total bytes of tensor data (sum of byte lengths). */
    public long dataLength() {
        long sum = 0;
        for (TensorInfo t : tensors) {
            sum = Math.addExact(sum, t.byteLength());
        }
        return sum;
    }

    /** Size the file has: dataStart + dataLength. */
    public long fileSize() {
        return Math.addExact(dataStart(), dataLength());
    }

    /** The tensor with this name, if there is one. */
    public Optional<TensorInfo> tensor(String name) {
        return ((TensorList) tensors).find(name);
    }

    /**
     * Reads the header length from the first 8 bytes of a file (the buffer's position and limit
     * are left unchanged).
     *
     * @param first8         the file's first bytes, from position to limit
     * @param fileSize       the file's size in bytes
     * @param maxHeaderBytes the largest header length to accept
     * @return the header length N
     * @throws SafetensorsException HEADER_TOO_SMALL if the file or buffer has fewer than 8 bytes or
     *                              N is below 2; HEADER_TOO_LARGE if N (unsigned) is above
     *                              maxHeaderBytes; INVALID_HEADER_LENGTH if 8 + N is past fileSize
     */
    public static long parseHeaderLength(ByteBuffer first8, long fileSize, long maxHeaderBytes)
            throws SafetensorsException {
        return HeaderParser.parseHeaderLength(first8, fileSize, maxHeaderBytes);
    }

    /**
     * Parses and validates a header, with any number of tensors.
     *
     * @param headerJson the N header bytes (after the 8-byte length)
     * @param fileSize   the size of the whole file, which the data section must end at exactly
     */
    public static SafetensorsHeader parse(byte[] headerJson, long fileSize) throws SafetensorsException {
        return parse(headerJson, fileSize, HeaderLimits.DEFAULT.maxTensors());
    }

    /**
     * Parses and validates a header listing at most {@code maxTensors} tensors.
     *
     * @param headerJson the N header bytes (after the 8-byte length)
     * @param fileSize   the size of the whole file, which the data section must end at exactly
     * @param maxTensors most tensors accepted; the parse stops at the first tensor past it
     * @throws SafetensorsException TOO_MANY_TENSORS, naming that tensor, when the header lists more;
     *                              any other rule the header breaks before that point
     */
    public static SafetensorsHeader parse(byte[] headerJson, long fileSize, int maxTensors)
            throws SafetensorsException {
        return HeaderParser.parse(headerJson, fileSize, maxTensors);
    }

    /**
     * Reads and validates the header of the file behind a channel under the format's own limits
     * ({@link HeaderLimits#DEFAULT}).
     */
    public static SafetensorsHeader read(SeekableByteChannel channel) throws IOException {
        return read(channel, HeaderLimits.DEFAULT);
    }

    /**
     * Reads and validates the header of the file behind a channel, reading only the first 8 + N
     * bytes; N is checked against {@code limits} before the header is read. The channel's position
     * is left after the header.
     */
    public static SafetensorsHeader read(SeekableByteChannel channel, HeaderLimits limits) throws IOException {
        Objects.requireNonNull(limits, "limits");
        long fileSize = channel.size();
        channel.position(0);
        ByteBuffer prefix = ByteBuffer.allocate(PREFIX_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, prefix);
        prefix.flip();
        long n = parseHeaderLength(prefix, fileSize, limits.maxHeaderBytes());
        ByteBuffer json = ByteBuffer.allocate(Math.toIntExact(n));
        readFully(channel, json);
        if (json.hasRemaining()) {
            throw new SafetensorsException(SafetensorsException.Reason.INVALID_HEADER_LENGTH,
                    "header length " + n + " but the file ended after " + json.position() + " header bytes", null);
        }
        return parse(json.array(), fileSize, limits.maxTensors());
    }

    /** Reads and validates the header of a file under the format's own limits. */
    public static SafetensorsHeader read(Path file) throws IOException {
        return read(file, HeaderLimits.DEFAULT);
    }

    /** Reads and validates the header of a file under {@code limits}. */
    public static SafetensorsHeader read(Path file, HeaderLimits limits) throws IOException {
        Objects.requireNonNull(file, "file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(ch, limits);
        }
    }

    /** Reads until the buffer is full or the channel ends. */
    private static void readFully(SeekableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                return;
            }
        }
    }
}
