package dev.mergeline.events;

import java.util.List;
import java.util.Map;

/**
 * The adapter an event is about. Rejections may carry only bucket, prefix and id (plus whatever
 * was known when validation stopped); merge requests always carry the ETags.
 *
 * @param bucket S3 bucket
 * @param prefix {@code adapters/<id>/}
 * @param id adapter id (see {@link AdapterLocation})
 * @param etags file name → ETag (without quotes) of the adapter files that determine the merge, or null
 * @param peftType {@code peft_type} from adapter_config.json ("LORA"), or null
 * @param r default rank {@code r} from adapter_config.json, or null
 * @param targetModules {@code target_modules} as configured (a regex string becomes a one-element list), or null
 */
public record AdapterRef(
        String bucket,
        String prefix,
        String id,
        Map<String, String> etags,
        String peftType,
        Integer r,
        List<String> targetModules) {

    public AdapterRef {
        AdapterLocation location = new AdapterLocation(bucket, id);
        Check.required(prefix, "prefix");
        if (!prefix.equals(location.prefix())) {
            throw EventFormatException.invalid("prefix", prefix, "must be \"" + location.prefix() + "\"");
        }
        etags = Check.optionalEtags(etags, "etags");
        peftType = Check.optionalText(peftType, "peftType");
        if (r != null && r <= 0) {
            throw EventFormatException.invalid("r", r, "must be positive");
        }
        targetModules = Check.optionalList(targetModules, "targetModules");
    }

    /** Just the location, nothing read yet. */
    public static AdapterRef of(AdapterLocation location) {
        return new AdapterRef(location.bucket(), location.prefix(), location.id(), null, null, null, null);
    }

    public AdapterLocation location() {
        return new AdapterLocation(bucket, id);
    }
}
