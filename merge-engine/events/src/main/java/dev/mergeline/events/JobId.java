package dev.mergeline.events;

import java.util.Map;
import java.util.regex.Pattern;

/**
 * Job ids: lowercase hex of the first 16 bytes of SHA-256 over an unambiguous encoding of
 * everything that determines a merged checkpoint. Same inputs, same id; any change, another id.
 *
 * <p>Encoding (see {@code Canonical}): the string {@code "mergeline/job/v1"}; the adapter ETags as a
 * map (file name → ETag without quotes, sorted by name); the base identity; the merge semantics
 * version; the output dtype ({@code bf16}/{@code fp16}/{@code fp32}, or null for "keep"); the
 * effective shard size in bytes (null in the options means the 5 GB default, so both spellings
 * give the same id, as they give the same output).
 */
public final class JobId {
    private static final Pattern FORMAT = Pattern.compile("[0-9a-f]{32}");
    private static final String DOMAIN = "mergeline/job/v1";

    private JobId() {}

    /**
     * @param adapterEtags file name → ETag of every adapter file that determines the merge
     *     (adapter_config.json, adapter_model.safetensors, merge.json, tokenizer files copied to the
     *     output); quotes around ETags are ignored
     * @param baseIdentity the base's {@link BaseIdentity}
     * @param mergeSemantics the engine's merge semantics version (core's {@code EngineInfo.MERGE_SEMANTICS})
     * @param options output options; null means {@link MergeOptions#DEFAULTS}
     */
    public static String compute(Map<String, String> adapterEtags, String baseIdentity, String mergeSemantics,
            MergeOptions options) {
        Map<String, String> etags = Check.etags(adapterEtags, "adapterEtags");
        Check.text(baseIdentity, "baseIdentity");
        Check.text(mergeSemantics, "mergeSemantics");
        MergeOptions o = options == null ? MergeOptions.DEFAULTS : options;
        return new Canonical(DOMAIN)
                .map(etags)
                .string(baseIdentity)
                .string(mergeSemantics)
                .string(o.dtype())
                .optionalLong(o.effectiveMaxShardBytes())
                .sha256Hex(16);
    }

    /** Whether {@code s} has the form of a job id (32 lowercase hex digits). */
    public static boolean isValid(String s) {
        return s != null && FORMAT.matcher(s).matches();
    }
}
