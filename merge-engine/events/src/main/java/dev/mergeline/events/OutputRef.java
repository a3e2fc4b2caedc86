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
 * @param quantization the {@code quant_method} of the weights when they stay quantized ({@code fp8}, as
 *     {@code config.json}'s {@code quantization_config} and MANIFEST.json's {@code output.quantization}
 *     say); absent for plain weights of {@code dtype}
 * @param files every object written under the prefix, MANIFEST.json included
 */
public record OutputRef(String bucket, String prefix, String format, String dtype, String quantization,
        List<OutputFile> files) {
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
        if (quantization != null) {
            Check.text(quantization, "quantization");
        }
        files = Check.nonEmptyList(files, "files");
    }

    /** Plain (unquantized) weights. */
    public OutputRef(String bucket, String prefix, String format, String dtype, List<OutputFile> files) {
        this(bucket, prefix, format, dtype, null, files);
    }

    /** {@code merged/<id>/<jobId>/}. */
    public static String prefixFor(AdapterLocation adapter, String jobId) {
        Check.jobId(jobId, "jobId");
        return ROOT + adapter.id() + "/" + jobId + "/";
    }
}
