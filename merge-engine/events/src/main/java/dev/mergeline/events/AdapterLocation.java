package dev.mergeline.events;

/**
 * Where an adapter lives: {@code s3://<bucket>/adapters/<id>/}.
 *
 * @param bucket S3 bucket name
 * @param id adapter id: 1–128 characters of {@code [A-Za-z0-9._-]}, not {@code .} or {@code ..}
 */
public record AdapterLocation(String bucket, String id) {
    /** Key prefix under which every adapter lives. */
    public static final String ROOT = "adapters/";

    public AdapterLocation {
        S3Names.bucket(bucket, "bucket");
        Check.required(id, "id");
        if (!isValidId(id)) {
            throw EventFormatException.invalid("id", id,
                    "adapter id must be 1-128 characters of A-Z a-z 0-9 . _ - and not '.' or '..'");
        }
    }

    /** Whether {@code id} is a valid adapter id. */
    public static boolean isValidId(String id) {
        return S3Names.isSafeSegment(id);
    }

    /** {@code adapters/<id>/}. */
    public String prefix() {
        return ROOT + id + "/";
    }

    /** The object key of one file of this adapter. */
    public String key(String fileName) {
        return prefix() + fileName;
    }

    /** {@code s3://<bucket>/adapters/<id>/}, the form announcements use. */
    public String uri() {
        return "s3://" + bucket + "/" + prefix();
    }
}
