package dev.mergeline.s3;

import java.io.IOException;

/**
 * An S3 operation failed; {@link #retriable()} says whether trying again later can help.
 * {@link ObjectChangedException} marks the one failure that no retry of the same request can cure.
 */
public class StorageException extends IOException {
    private final boolean retriable;

    public StorageException(String message, boolean retriable, Throwable cause) {
        super(message, cause);
        this.retriable = retriable;
    }

    /** True for throttling, 5xx and connection failures; false for missing objects and access denied. */
    public boolean retriable() {
        return retriable;
    }
}
