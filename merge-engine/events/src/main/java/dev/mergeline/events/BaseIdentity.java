package dev.mergeline.events;

import java.util.Map;

/**
 * Identity of a base checkpoint in S3: lowercase hex SHA-256 (all 32 bytes) over the string
 * {@code "mergeline/base/v1"}, the ETag of {@code config.json} and the map weight file name → ETag
 * (sorted by name), in the encoding {@link JobId} uses. Re-uploading any weight file or the config
 * changes it; tokenizer and generation files do not take part.
 */
public final class BaseIdentity {
    private static final String DOMAIN = "mergeline/base/v1";

    private BaseIdentity() {}

    /**
     * @param configEtag ETag of {@code config.json} (quotes ignored)
     * @param weightFileEtags weight file name ({@code model.safetensors},
     *     {@code model-00001-of-00004.safetensors}, ...) → ETag (quotes ignored); not empty
     */
    public static String compute(String configEtag, Map<String, String> weightFileEtags) {
        String config = Etags.normalize(configEtag, "configEtag");
        Map<String, String> weights = Check.etags(weightFileEtags, "weightFileEtags");
        return new Canonical(DOMAIN).string(config).map(weights).sha256Hex(32);
    }
}
