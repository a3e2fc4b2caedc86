package dev.mergeline.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;

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
        } catch (SafetensorsException expected) {
            assertNotNull(expected.reason());
            return;
        }
        assertTilesTheFile(h, file.length);
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
        try {
            long n = SafetensorsHeader.parseHeaderLength(buffer, fileSize, maxHeaderBytes);
            assertTrue(n >= 2 && n <= maxHeaderBytes && n <= fileSize - 8, () -> "accepted header length " + n);
        } catch (SafetensorsException expected) {
            assertNotNull(expected.reason());
        }
        assertEquals(0, buffer.position(), "parseHeaderLength must leave the buffer's position alone");
        try {
            assertTilesTheFile(SafetensorsHeader.parse(json, fileSize), fileSize);
        } catch (SafetensorsException expected) {
            assertNotNull(expected.reason());
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
