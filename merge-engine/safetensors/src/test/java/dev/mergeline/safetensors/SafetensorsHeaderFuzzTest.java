package dev.mergeline.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.util.Arrays;

/**
 * Fuzz targets for the safetensors header parser: whatever the bytes, parsing either returns a
 * header whose layout tiles the file exactly or throws {@link SafetensorsException}. Any other
 * exception or error (ArithmeticException, NullPointerException, StackOverflowError, ...) is a
 * finding.
 *
 * <p>A plain test run replays the committed inputs in {@code src/test/resources/dev/mergeline/
 * safetensors/SafetensorsHeaderFuzzTestInputs/<method>/} (regression mode); {@code JAZZER_FUZZ=1}
 * fuzzes one target for its {@code maxDuration} (see {@code merge-engine/fuzz.sh}). A finding is
 * written to that directory as {@code crash-<sha1>} and replayed by every later run once committed.
 */
class SafetensorsHeaderFuzzTest {

    /** A whole file as bytes: 8-byte length, header, data; read through the same path as a real file. */
    @FuzzTest(maxDuration = "60s")
    void file(byte[] file) throws IOException {
        SafetensorsHeader h;
        try {
            h = SafetensorsHeader.read(new BytesChannel(file));
        } catch (SafetensorsException rejected) {
            assertEquals(rejectionInTwoSteps(file), rejected.reason(),
                    "reading a file and parsing its two parts must break the same rule");
            return;
        }
        assertTilesTheFile(h, file.length);
        assertEquals(h, SafetensorsHeader.parse(Arrays.copyOfRange(file, 8, (int) h.dataStart()), file.length));
    }

    /** The rule the same bytes break when the length prefix and the header JSON are parsed separately. */
    private static SafetensorsException.Reason rejectionInTwoSteps(byte[] file) {
        try {
            long n = SafetensorsHeader.parseHeaderLength(ByteBuffer.wrap(file), file.length,
                    SafetensorsHeader.MAX_HEADER_BYTES);
            SafetensorsHeader.parse(Arrays.copyOfRange(file, 8, (int) (8 + n)), file.length);
            throw new AssertionError("the two-step parse accepts what reading the file rejected");
        } catch (SafetensorsException e) {
            return e.reason();
        }
    }

    /**
     * The two entry points with arbitrary arguments: a header length prefix against any file size
     * and limit, and header JSON against any file size (huge, negative, or just too small).
     */
    @FuzzTest(maxDuration = "60s")
    void header(FuzzedDataProvider data) {
        long fileSize = data.consumeLong();
        long maxHeaderBytes = data.consumeLong(0, Long.MAX_VALUE);
        byte[] prefix = data.consumeBytes(data.consumeInt(0, 12));
        byte[] json = data.consumeRemainingAsBytes();
        ByteBuffer buffer = ByteBuffer.wrap(prefix);
        SafetensorsException.Reason rule = lengthRuleBroken(prefix, fileSize, maxHeaderBytes);
        try {
            long n = SafetensorsHeader.parseHeaderLength(buffer, fileSize, maxHeaderBytes);
            assertEquals(null, rule, () -> "accepted header length " + n);
            assertEquals(ByteBuffer.wrap(prefix).order(ByteOrder.LITTLE_ENDIAN).getLong(), n);
        } catch (SafetensorsException rejected) {
            assertEquals(rule, rejected.reason(), rejected::getMessage);
        }
        assertEquals(0, buffer.position(), "parseHeaderLength must leave the buffer's position alone");
        try {
            assertTilesTheFile(SafetensorsHeader.parse(json, fileSize), fileSize);
            assertTrue(isUtf8(json), "accepted a header that is not UTF-8");
        } catch (SafetensorsException rejected) {
            if (fileSize < 8L + json.length) {
                assertEquals(SafetensorsException.Reason.INVALID_HEADER_LENGTH, rejected.reason(), rejected::getMessage);
            } else {
                assertEquals(!isUtf8(json), rejected.reason() == SafetensorsException.Reason.INVALID_UTF8,
                        rejected::getMessage);
            }
        }
    }

    /**
     * The format's rules for the 8-byte prefix, in the order they are checked: at least 8 bytes of
     * file and of prefix, a length (unsigned) within the limit, at least {@code "{}"}, inside the file.
     */
    private static SafetensorsException.Reason lengthRuleBroken(byte[] prefix, long fileSize, long maxHeaderBytes) {
        if (fileSize < 8 || prefix.length < 8) {
            return SafetensorsException.Reason.HEADER_TOO_SMALL;
        }
        long n = ByteBuffer.wrap(prefix).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (Long.compareUnsigned(n, maxHeaderBytes) > 0) {
            return SafetensorsException.Reason.HEADER_TOO_LARGE;
        }
        if (n < 2) {
            return SafetensorsException.Reason.HEADER_TOO_SMALL;
        }
        return n > fileSize - 8 ? SafetensorsException.Reason.INVALID_HEADER_LENGTH : null;
    }

    private static boolean isUtf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /** What a successful parse promises: tensors sorted, contiguous from 0, ending at the file's end. */
    private static void assertTilesTheFile(SafetensorsHeader h, long fileSize) {
        long expected = 0;
        for (TensorInfo t : h.tensors()) {
            assertEquals(expected, t.dataOffset(), () -> "tensor " + t.name() + " does not follow its predecessor");
            assertEquals(t.byteLength(), Shapes.byteLength(t.dtype(), t.shape()));
            assertEquals(t, h.tensor(t.name()).orElseThrow());
            expected = t.dataEnd();
        }
        assertEquals(fileSize, h.fileSize());
        assertEquals(fileSize - h.dataStart(), h.dataLength());
    }

    /** A read-only channel over bytes, so that the fuzz target uses {@link SafetensorsHeader#read(SeekableByteChannel)}. */
    static final class BytesChannel implements SeekableByteChannel {
        private final byte[] bytes;
        private long position;
        private boolean open = true;

        BytesChannel(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            ensureOpen();
            if (position >= bytes.length) {
                return -1;
            }
            int n = (int) Math.min(dst.remaining(), bytes.length - position);
            dst.put(bytes, (int) position, n);
            position += n;
            return n;
        }

        @Override
        public int write(ByteBuffer src) {
            throw new NonWritableChannelException();
        }

        @Override
        public long position() throws IOException {
            ensureOpen();
            return position;
        }

        @Override
        public SeekableByteChannel position(long newPosition) throws IOException {
            ensureOpen();
            if (newPosition < 0) {
                throw new IllegalArgumentException("negative position " + newPosition);
            }
            position = newPosition;
            return this;
        }

        @Override
        public long size() throws IOException {
            ensureOpen();
            return bytes.length;
        }

        @Override
        public SeekableByteChannel truncate(long size) {
            throw new NonWritableChannelException();
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            open = false;
        }

        private void ensureOpen() throws ClosedChannelException {
            if (!open) {
                throw new ClosedChannelException();
            }
        }
    }
}
