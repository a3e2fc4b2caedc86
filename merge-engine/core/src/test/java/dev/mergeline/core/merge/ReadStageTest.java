package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@link ReadStage} tells a file in the page cache from one that is not. */
class ReadStageTest {

    @Test
    void aFileJustWrittenAndReadIsCachedAndAnEvictedOneIsNot(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("weights.bin");
        byte[] bytes = new byte[3 << 20];
        new java.util.Random(7).nextBytes(bytes);
        Files.write(file, bytes);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.force(true); // clean pages, so that they can be evicted below
            ch.read(ByteBuffer.allocate(bytes.length), 0);
            assertTrue(ReadStage.whollyCached(ch), "a file just read is in the page cache");

            assumeTrue(!"tmpfs".equals(Files.getFileStore(dir).type()), "tmpfs pages cannot be evicted");
            // GNU dd's iflag=nocache asks the kernel to drop the file's cached pages (posix_fadvise DONTNEED)
            Process dd = new ProcessBuilder("dd", "if=" + file, "iflag=nocache", "count=0", "status=none")
                    .redirectErrorStream(true).start();
            assumeTrue(dd.waitFor(30, TimeUnit.SECONDS) && dd.exitValue() == 0, "GNU dd with iflag=nocache");
            assertFalse(ReadStage.whollyCached(ch), "a file whose pages were dropped is not wholly cached");

            ch.read(ByteBuffer.allocate(1 << 20), 0);
            assertFalse(ReadStage.whollyCached(ch), "one MiB read back of three is not the whole file");
        }
    }

    @Test
    void anEmptyFileIsCached(@TempDir Path dir) throws Exception {
        Path file = Files.createFile(dir.resolve("empty.bin"));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            assertTrue(ReadStage.whollyCached(ch));
        }
    }
}
