package dev.mergeline.core.output;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/** SHA-256 helpers for manifests and identities. */
public final class Hashes {
    private Hashes() {}

    /** Hex SHA-256 of the first {@code limit} bytes of {@code file} (or all of it). */
    public static String sha256(Path file, long limit) throws IOException {
        MessageDigest sha = OutputDirectory.sha256();
        byte[] buf = new byte[1 << 16];
        long left = limit;
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
                sha.update(buf, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    public static String sha256(byte[] data) {
        return HexFormat.of().formatHex(OutputDirectory.sha256().digest(data));
    }
}
