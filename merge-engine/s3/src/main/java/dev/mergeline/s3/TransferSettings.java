package dev.mergeline.s3;

/**
 * How large objects move: downloads as ranged GETs of {@code partBytes} each, uploads as multipart
 * uploads of (at least) {@code partBytes} per part, with up to {@code concurrency} requests of one
 * transfer in flight at a time.
 *
 * <p>With {@code concurrency} 1 a download is one GET streamed from start to end (ranges are only
 * used to resume a body that broke off) and a multipart upload sends its parts one after another.
 *
 * @param partBytes bytes per ranged GET and per uploaded part; at least {@value #MIN_PART_BYTES} (S3's
 *     smallest part but the last) and at most {@value #MAX_PART_BYTES} (S3's largest part). Objects no
 *     larger than this move in one request. Uploads use larger parts where a file would need more
 *     than {@value #MAX_PARTS} parts (S3's limit)
 * @param concurrency requests of one transfer in flight at a time, 1–{@value #MAX_CONCURRENCY}
 */
public record TransferSettings(long partBytes, int concurrency) {
    /** S3's smallest part size of a multipart upload (all parts but the last). */
    public static final long MIN_PART_BYTES = 5L << 20;
    /** S3's largest part size, and largest single PUT. */
    public static final long MAX_PART_BYTES = 5L << 30;
    /** S3's largest number of parts in one multipart upload. */
    public static final int MAX_PARTS = 10_000;
    public static final int MAX_CONCURRENCY = 64;
    /** 16 MiB parts, 8 at a time: what AWS recommends for ranged GETs within one region. */
    public static final TransferSettings DEFAULTS = new TransferSettings(16L << 20, 8);

    public TransferSettings {
        if (partBytes < MIN_PART_BYTES || partBytes > MAX_PART_BYTES) {
            throw new IllegalArgumentException("part size must be within " + MIN_PART_BYTES + " and " + MAX_PART_BYTES
                    + " bytes (S3's limits), got " + partBytes);
        }
        if (concurrency < 1 || concurrency > MAX_CONCURRENCY) {
            throw new IllegalArgumentException("concurrency must be within 1 and " + MAX_CONCURRENCY + ", got "
                    + concurrency);
        }
    }

    /**
     * The part size for uploading {@code size} bytes: {@link #partBytes()}, or the smallest whole
     * number of MiB that keeps the upload within {@value #MAX_PARTS} parts.
     *
     * @throws IllegalArgumentException when even {@value #MAX_PART_BYTES}-byte parts are not enough (over 48.8 TiB)
     */
    public long uploadPartBytes(long size) {
        long needed = ceilDiv(size, MAX_PARTS);
        long part = Math.max(partBytes, ceilDiv(needed, 1L << 20) << 20);
        if (part > MAX_PART_BYTES) {
            throw new IllegalArgumentException(size + " bytes do not fit in " + MAX_PARTS + " parts of at most "
                    + MAX_PART_BYTES + " bytes");
        }
        return part;
    }

    static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }
}
