package dev.mergeline.safetensors;

/**
 * What a reader accepts from a safetensors header, checked before anything large is read or
 * built: the header length (from the 8-byte prefix, before the header is read) and the number of
 * tensors (while the header is parsed: it stops at the first tensor past the limit).
 *
 * @param maxHeaderBytes largest header length N accepted
 * @param maxTensors     most tensors the header may list ({@code __metadata__} does not count)
 */
public record HeaderLimits(long maxHeaderBytes, int maxTensors) {

    /** The format's own limits: a header of at most 100 MB, any number of tensors. */
    public static final HeaderLimits DEFAULT = new HeaderLimits(SafetensorsHeader.MAX_HEADER_BYTES, Integer.MAX_VALUE);

    /** @throws IllegalArgumentException if a limit is negative */
    public HeaderLimits {
        if (maxHeaderBytes < 0) {
            throw new IllegalArgumentException("maxHeaderBytes must be >= 0, got " + maxHeaderBytes);
        }
        if (maxTensors < 0) {
            throw new IllegalArgumentException("maxTensors must be >= 0, got " + maxTensors);
        }
    }
}
