package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * How the merge checked what it wrote (the summary of {@code MANIFEST.json}'s {@code verification};
 * the per-tensor entries stay in the manifest).
 *
 * @param status {@code ok}, or {@code warning} when targeted tensors came out unchanged
 * @param probes probe vectors applied to the checked rows of every low-rank tensor
 * @param tensors merged tensors verified
 * @param maxRelativeError the largest residual relative to its row's norm
 * @param maxRelativeErrorTensor the tensor it came from, or null when nothing was verified
 * @param unchanged targeted tensors whose merged bytes equal the base's (may be empty)
 * @param note the sentence for users when {@code unchanged} is not empty, e.g. "7 targeted tensors
 *     are unchanged by this adapter: lora_B is zero (…)", or null
 */
public record Verification(
        String status,
        @JsonProperty(required = true) int probes,
        @JsonProperty(required = true) int tensors,
        @JsonProperty(required = true) double maxRelativeError,
        String maxRelativeErrorTensor,
        List<String> unchanged,
        String note) {

    public Verification {
        Check.text(status, "status");
        if (!status.equals("ok") && !status.equals("warning")) {
            throw new EventFormatException("status", status, "must be \"ok\" or \"warning\"");
        }
        Check.nonNegative(probes, "probes");
        Check.nonNegative(tensors, "tensors");
        if (!(maxRelativeError >= 0) || Double.isInfinite(maxRelativeError)) {
            throw new EventFormatException("maxRelativeError", String.valueOf(maxRelativeError),
                    "must be a finite number >= 0");
        }
        Check.optionalText(maxRelativeErrorTensor, "maxRelativeErrorTensor");
        unchanged = Check.list(unchanged == null ? List.of() : unchanged, "unchanged");
        Check.optionalText(note, "note");
    }
}
