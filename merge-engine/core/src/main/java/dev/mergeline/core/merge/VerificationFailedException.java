package dev.mergeline.core.merge;

/**
 * A merged tensor's bytes do not agree with the adapter beyond what rounding explains: the kernel
 * or the memory it wrote through produced wrong numbers. The merge stops before anything is
 * committed. Not a property of the inputs: another worker (or the CPU kernel) may succeed.
 */
public final class VerificationFailedException extends RuntimeException {
    private final String tensor;

    public VerificationFailedException(String tensor, String message) {
        super(message);
        this.tensor = tensor;
    }

    /** The tensor whose check failed. */
    public String tensor() {
        return tensor;
    }
}
