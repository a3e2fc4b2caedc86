package dev.mergeline.core.merge;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the verification of a merge found, as recorded in {@code MANIFEST.json} and the ready event.
 *
 * @param status {@code ok}, or {@code warning} when targeted tensors came out unchanged
 * @param probes probe vectors per low-rank tensor
 * @param tensors how many merged tensors were verified
 * @param maxRelativeError the largest relative residual of any of them
 * @param maxRelativeErrorTensor the tensor it came from, or null when nothing was verified
 * @param unchanged targeted tensors whose merged bytes equal the base's, by name
 * @param unchangedReason why, where the adapter's weights say so (e.g. "lora_B is zero"), or null
 * @param entries one per merged tensor, in write order
 */
public record VerificationReport(
        String status,
        int probes,
        int tensors,
        double maxRelativeError,
        String maxRelativeErrorTensor,
        List<String> unchanged,
        String unchangedReason,
        List<VerificationEntry> entries) {

    public VerificationReport {
        unchanged = List.copyOf(unchanged);
        entries = List.copyOf(entries);
    }

    static VerificationReport of(int probes, List<VerificationEntry> entries, Map<String, String> zeroFactors) {
        double max = 0;
        String maxTensor = null;
        List<String> unchanged = new ArrayList<>();
        for (VerificationEntry e : entries) {
            if (maxTensor == null || e.maxRelativeError() > max) {
                max = e.maxRelativeError();
                maxTensor = e.tensor();
            }
            if (e.unchanged()) {
                unchanged.add(e.tensor());
            }
        }
        String reason = null;
        if (!unchanged.isEmpty() && zeroFactors.keySet().containsAll(unchanged)) {
            reason = "lora_B is zero";
        } else if (!unchanged.isEmpty() && !zeroFactors.isEmpty()) {
            reason = zeroFactors.size() + " of them have lora_B all zero";
        }
        return new VerificationReport(unchanged.isEmpty() ? "ok" : "warning", probes, entries.size(), max, maxTensor,
                unchanged, reason, entries);
    }

    /** The sentence for notes and the ready event, or null when every targeted tensor changed. */
    public String unchangedNote() {
        if (unchanged.isEmpty()) {
            return null;
        }
        return unchanged.size() + " targeted " + (unchanged.size() == 1 ? "tensor is" : "tensors are")
                + " unchanged by this adapter" + (unchangedReason == null ? "" : ": " + unchangedReason)
                + " (" + String.join(", ", unchanged) + ")";
    }
}
