package dev.mergeline.safetensors;

import static dev.mergeline.safetensors.TestData.spec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {

    @TempDir
    Path dir;

    private final List<TensorSpec> specs = List.of(spec("w", DType.F32, 8L, 5L), spec("s", DType.I64), spec("e", DType.BF16, 0L));
    private Path file;

    @BeforeEach
    void write() throws IOException {
        try (CheckpointWriter w = new CheckpointWriter(dir, ShardLayout.plan(specs, 1000), Map.of())) {
            ByteBuffer floats = ByteBuffer.allocate(160).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 40; i++) {
                floats.putFloat(i);
            }
            w.next("w").write(floats.flip());
            w.next("s").write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -7));
            w.next("e");
            w.commit();
        }
        file = dir.resolve("model.safetensors");
    }

    @Test
    void slicesRowsLittleEndianAndReadOnly() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(file, f.path());
            TensorInfo w = f.header().tensor("w").orElseThrow();
            for (int row = 0; row < 8; row++) {
                ByteBuffer b = f.slice(w, row * 20L, 20);
                assertEquals(ByteOrder.LITTLE_ENDIAN, b.order());
                assertTrue(b.isReadOnly());
                assertEquals(20, b.remaining());
                for (int c = 0; c < 5; c++) {
                    assertEquals(row * 5 + c, b.getFloat(), 0f);
                }
            }
            ByteBuffer tail = f.slice(w, 156, 4);
            assertEquals(39f, tail.getFloat(), 0f);
            assertThrows(ReadOnlyBufferException.class, () -> f.slice(w, 0, 4).putFloat(0, 1f));
            assertEquals(-7, f.slice(f.header().tensor("s").orElseThrow(), 0, 8).getLong());
            assertEquals(0, f.slice(f.header().tensor("e").orElseThrow(), 0, 0).remaining());
            assertEquals(0, f.slice(w, 160, 0).remaining());
        }
    }

    @Test
    void sliceIsBoundsChecked() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            TensorInfo w = f.header().tensor("w").orElseThrow();
            assertThrows(IndexOutOfBoundsException.class, () -> f.slice(w, 157, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> f.slice(w, -1, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> f.slice(w, 0, -1));
            assertThrows(IndexOutOfBoundsException.class, () -> f.slice(w, Long.MAX_VALUE, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> f.slice(w, 0, 161));
            TensorInfo foreign = new TensorInfo("w", DType.F32, List.of(8L, 6L), 0, 192);
            assertThrows(IllegalArgumentException.class, () -> f.slice(foreign, 0, 4));
            TensorInfo unknown = new TensorInfo("x", DType.U8, List.of(1L), 0, 1);
            assertThrows(IllegalArgumentException.class, () -> f.slice(unknown, 0, 1));
        }
    }

    @Test
    void transferToCopiesExactlyTheTensor() throws IOException {
        byte[] all = Files.readAllBytes(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            TensorInfo w = f.header().tensor("w").orElseThrow();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            f.transferTo(w, Channels.newChannel(out));
            int start = Math.toIntExact(f.header().dataStart());
            assertArrayEquals(Arrays.copyOfRange(all, start, start + 160), out.toByteArray());

            Path copy = dir.resolve("copy.bin");
            try (FileChannel target = FileChannel.open(copy, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                target.write(ByteBuffer.wrap(new byte[] {9}));
                f.transferTo(f.header().tensor("s").orElseThrow(), target);
                f.transferTo(f.header().tensor("e").orElseThrow(), target);
            }
            byte[] copied = Files.readAllBytes(copy);
            assertEquals(9, copied.length);
            assertEquals(-7, ByteBuffer.wrap(copied, 1, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
        }
    }

    @Test
    void openValidatesAgainstTheRealFileSize() throws IOException {
        Files.write(file, new byte[] {0}, StandardOpenOption.APPEND);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file));
        assertEquals(SafetensorsException.Reason.TRAILING_BYTES, e.reason());
    }

    @Test
    void closedFileRefusesSlices() throws IOException {
        SafetensorsFile f = SafetensorsFile.open(file);
        TensorInfo w = f.header().tensor("w").orElseThrow();
        f.close();
        assertThrows(IOException.class, () -> f.slice(w, 0, 4));
    }
}
