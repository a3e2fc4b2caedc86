package dev.mergeline.core.merge;

/**
 * How one merged tensor passed verification.
 *
 * @param tensor the output tensor's name
 * @param kind {@code lora}, {@code dora} or {@code bias}
 * @param probes probe vectors applied to every row (0 for elementwise checks of biases)
 * @param maxRelativeError the largest residual, relative to the norm of its row (or element)
 * @param unchanged whether the merged bytes equal the base tensor's bytes
 */
public record VerificationEntry(String tensor, String kind, int probes, double maxRelativeError, boolean unchanged) {}
