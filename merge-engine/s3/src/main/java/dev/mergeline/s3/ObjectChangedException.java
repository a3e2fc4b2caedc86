package dev.mergeline.s3;

/**
 * An object was replaced while it was being read: its ETag is no longer the one the caller expected
 * (S3 answered a conditional GET with 412, or returned another ETag). Never retriable — the bytes
 * the caller asked for are gone; whoever chose the ETag must look again.
 */
public final class ObjectChangedException extends StorageException {
    private final String key;
    private final String expectedEtag;
    private final String actualEtag;

    public ObjectChangedException(String bucket, String key, String expectedEtag, String actualEtag, Throwable cause) {
        super("s3://" + bucket + "/" + key + " changed while it was read: ETag " + expectedEtag + " expected, "
                + (actualEtag == null ? "another one" : actualEtag) + " found", false, cause);
        this.key = key;
        this.expectedEtag = expectedEtag;
        this.actualEtag = actualEtag;
    }

    public String key() {
        return key;
    }

    public String expectedEtag() {
        return expectedEtag;
    }

    /** The ETag S3 returned, or null when it only refused the expected one (HTTP 412). */
    public String actualEtag() {
        return actualEtag;
    }
}
