package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Tensors of the output by what happened to them.
 *
 * @param merged base weights that received a LoRA (or DoRA) delta
 * @param replaced base tensors replaced by saved ones ({@code modules_to_save}, bias)
 * @param added tensors the base did not have (a new classification head)
 * @param copied base tensors copied unchanged
 */
public record Counts(
        @JsonProperty(required = true) int merged,
        @JsonProperty(required = true) int replaced,
        @JsonProperty(required = true) int added,
        @JsonProperty(required = true) int copied) {

    public Counts {
        Check.nonNegative(merged, "merged");
        Check.nonNegative(replaced, "replaced");
        Check.nonNegative(added, "added");
        Check.nonNegative(copied, "copied");
    }

    /** Tensors in the output. */
    public int total() {
        return merged + replaced + added + copied;
    }
}
