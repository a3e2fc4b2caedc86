package dev.mergeline.core.run;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** A directory on the local file system as an {@link InputSource}. */
public record LocalDirectory(Path dir) implements InputSource<IOException> {

    @Override
    public Map<String, Long> files() throws IOException {
        Map<String, Long> files = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return files;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (Files.isRegularFile(p)) {
                    files.put(p.getFileName().toString(), Files.size(p));
                }
            }
        }
        return files;
    }

    @Override
    public byte[] read(String file, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        try (FileChannel ch = FileChannel.open(dir.resolve(file), StandardOpenOption.READ)) {
            while (buffer.hasRemaining()) {
                if (ch.read(buffer, offset + buffer.position()) < 0) {
                    throw new EOFException(dir.resolve(file) + " ended at byte " + (offset + buffer.position())
                            + ", before the " + length + " bytes read from " + offset);
                }
            }
        }
        return buffer.array();
    }

    @Override
    public String locate(String file) {
        return file.isEmpty() ? dir.toString() : dir.resolve(file).toString();
    }
}
