package dev.mergeline.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StagedFileTest {
    private static final int ALIGN = 4096;
    private static final int STAGING = 2 * ALIGN;

    @TempDir
    Path dir;

    private final ExecutorService hasher = Executors.newSingleThreadExecutor();
    private final ExecutorService io = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        hasher.shutdownNow();
        io.shutdownNow();
    }

    /** Writes {@code data} in random pieces; returns the hash the file reported. */
    private String write(Path file, StagedFile.Mode mode, byte[] data, StagingBuffers buffers) throws Exception {
        Random pieces = new Random(data.length);
        try (StagedFile f = new StagedFile(file, mode, buffers, hasher, io, MessageDigest.getInstance("SHA-256"))) {
            for (int done = 0; done < data.length; ) {
                int n = Math.min(data.length - done, 1 + pieces.nextInt(3 * STAGING));
                ByteBuffer piece = ByteBuffer.allocateDirect(n).put(data, done, n).flip();
                f.write(piece);
                assertEquals(n, piece.position(), "write consumes the whole buffer");
                done += n;
            }
            assertEquals(data.length, f.length());
            return f.finish();
        }
    }

    @Test
    void theHashTakenWhileWritingIsTheHashOfTheFileReadBack() throws Exception {
        StagingBuffers buffers = new StagingBuffers(3, STAGING, ALIGN);
        for (int size : new int[] {0, 1, ALIGN - 1, ALIGN, STAGING, STAGING + 1, 5 * STAGING + 123}) {
            byte[] data = new byte[size];
            new Random(size).nextBytes(data);
            for (StagedFile.Mode mode : StagedFile.Mode.values()) {
                Path file = dir.resolve(mode + "-" + size);
                String reported = write(file, mode, data, buffers);
                byte[] back = Files.readAllBytes(file);
                assertArrayEquals(data, back, mode + " " + size);
                assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(back)), reported,
                        mode + " " + size);
            }
        }
    }

    /**
     * Pieces computed in place ({@link StagedFile#reserve}) and pieces copied in, mixed at random
     * sizes and offsets, give the same file and hash as the data written whole; a piece larger than a
     * buffer less one block is refused (null) and written instead.
     */
    @Test
    void bytesFilledInPlaceAreWrittenAndHashedLikeCopiedOnes() throws Exception {
        StagingBuffers buffers = new StagingBuffers(3, STAGING, ALIGN);
        for (int size : new int[] {0, 1, ALIGN + 7, STAGING, 7 * STAGING + 321}) {
            byte[] data = new byte[size];
            new Random(size).nextBytes(data);
            for (StagedFile.Mode mode : StagedFile.Mode.values()) {
                Path file = dir.resolve("reserve-" + mode + "-" + size);
                Random pieces = new Random(size + 1);
                int inPlace = 0;
                String reported;
                try (StagedFile f = new StagedFile(file, mode, buffers, hasher, io, MessageDigest.getInstance("SHA-256"))) {
                    for (int done = 0; done < data.length; ) {
                        int n = Math.min(data.length - done, 1 + pieces.nextInt(STAGING + ALIGN));
                        ByteBuffer room = pieces.nextBoolean() ? f.reserve(n) : null;
                        if (room != null) {
                            assertEquals(n, room.remaining());
                            assertEquals(java.nio.ByteOrder.LITTLE_ENDIAN, room.order());
                            room.put(data, done, n);
                            inPlace++;
                        } else {
                            f.write(ByteBuffer.allocateDirect(n).put(data, done, n).flip());
                        }
                        done += n;
                        assertEquals(done, f.length());
                    }
                    assertEquals(null, f.reserve(STAGING - ALIGN + 1), "more than a buffer less one block");
                    reported = f.finish();
                }
                if (size > STAGING) {
                    assertTrue(inPlace > 0, "some pieces were filled in place");
                }
                byte[] back = Files.readAllBytes(file);
                assertArrayEquals(data, back, mode + " " + size);
                assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(back)), reported,
                        mode + " " + size);
            }
        }
    }

    @Test
    void stagingBuffersAreWholeAlignedBlocks() {
        assertThrows(IllegalArgumentException.class, () -> new StagingBuffers(2, ALIGN + 512, ALIGN));
        ByteBuffer b = new StagingBuffers(1, STAGING, ALIGN).tryAcquire();
        assertEquals(STAGING, b.capacity());
        assertEquals(0, b.alignmentOffset(0, ALIGN), "starts at a multiple of the alignment");
    }

    @Test
    void neverOverwritesAnExistingFile() throws IOException {
        Path file = Files.writeString(dir.resolve("taken"), "keep");
        for (StagedFile.Mode mode : StagedFile.Mode.values()) {
            assertThrows(FileAlreadyExistsException.class, () -> new StagedFile(file, mode,
                    new StagingBuffers(1, STAGING, ALIGN), hasher, io, MessageDigest.getInstance("SHA-256")));
            assertEquals("keep", Files.readString(file));
        }
    }
}
