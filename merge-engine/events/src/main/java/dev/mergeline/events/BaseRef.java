package dev.mergeline.events;

import java.util.Map;

/**
 * The base checkpoint a merge uses.
 *
 * @param name the base's name: Hugging Face repo id ({@code meta-llama/Llama-3.1-8B}) or registered alias
 * @param bucket S3 bucket
 * @param prefix key prefix of the checkpoint, normally {@code base-models/<name>/}; ends with '/'
 * @param identity {@link BaseIdentity} of the checkpoint (64 hex digits)
 * @param etags file name → ETag (without quotes) of {@code config.json} and every weight file, or null
 */
public record BaseRef(String name, String bucket, String prefix, String identity, Map<String, String> etags) {
    /** Key prefix under which base checkpoints live. */
    public static final String ROOT = "base-models/";

    public BaseRef {
        Check.required(name, "name");
        if (!isValidName(name)) {
            throw EventFormatException.invalid("name", name,
                    "base name must be '/'-separated segments of A-Z a-z 0-9 . _ - (no '.' or '..' segments)");
        }
        S3Names.bucket(bucket, "bucket");
        Check.required(prefix, "prefix");
        if (!prefix.endsWith("/") || !S3Names.isBaseName(prefix.substring(0, prefix.length() - 1))) {
            throw EventFormatException.invalid("prefix", prefix,
                    "must be '/'-separated safe segments ending with '/'");
        }
        Check.sha256(identity, "identity");
        etags = Check.optionalEtags(etags, "etags");
    }

    /** Whether {@code name} can name a base: 1–256 characters, '/'-separated safe segments. */
    public static boolean isValidName(String name) {
        return S3Names.isBaseName(name);
    }

    /** {@code base-models/<name>/}; the name must be valid. */
    public static String prefixFor(String name) {
        if (!isValidName(name)) {
            throw EventFormatException.invalid("name", name, "not a valid base name");
        }
        return ROOT + name + "/";
    }
}
