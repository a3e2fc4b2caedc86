package dev.mergeline.safetensors;

import java.util.Objects;

/**
 * A file that {@link CheckpointWriter#commit()} put in place.
 *
 * @param fileName  name inside the checkpoint directory
 * @param bytes     size in bytes
 * @param sha256Hex SHA-256 of the contents, lower-case hex
 */
public record WrittenFile(String fileName, long bytes, String sha256Hex) {

    public WrittenFile {
        Objects.requireNonNull(fileName, "fileName");
        Objects.requireNonNull(sha256Hex, "sha256Hex");
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
    }
}
