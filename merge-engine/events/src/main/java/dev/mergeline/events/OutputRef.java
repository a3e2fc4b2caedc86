package dev.mergeline.events;

import java.util.List;

/**
 * The merged checkpoint.
 *
 * @param bucket S3 bucket
 * @param prefix {@code merged/<id>/<jobId>/}
 * @param format {@code safetensors}
 * @param dtype dtype of the floating-point weights, Hugging Face spelling ({@code bfloat16},
 *     {@code float16}, {@code float32}), as in MANIFEST.json
 * @param files every object written under the prefix, MANIFEST.json included
 */
public record OutputRef(String bucket, String prefix, String format, String dtype, List<OutputFile> files) {
    /** The only output format so far. */
    public static final String SAFETENSORS = "safetensors";
    /** Key prefix of merged checkpoints. */
    public static final String ROOT = "merged/";

    public OutputRef {
        S3Names.bucket(bucket, "bucket");
        Check.text(prefix, "prefix");
        if (!prefix.endsWith("/")) {
            throw EventFormatException.invalid("prefix", prefix, "must end with '/'");
        }
        Check.text(format, "format");
        Check.text(dtype, "dtype");
        files = Check.nonEmptyList(files, "files");
    }

    /** {@code merged/<id>/<jobId>/}. */
    public static String prefixFor(AdapterLocation adapter, String jobId) {
        Check.jobId(jobId, "jobId");
        return ROOT + adapter.id() + "/" + jobId + "/";
    }
}
