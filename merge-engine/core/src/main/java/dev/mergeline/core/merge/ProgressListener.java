package dev.mergeline.core.merge;

import java.util.List;

/**
 * Told how far a merge has come: {@link MergeExecutor} calls it once before the first tensor (all
 * counts zero), after every block or copied tensor it writes, and after every tensor it closes. Calls
 * come from one thread at a time (the first from the caller of {@code execute}, the rest from the write
 * stage), in order, with counts that never decrease; the last call has {@code tensorsDone ==
 * tensorsTotal} and {@code bytesDone == bytesTotal}. It runs inside the merge's write stage, so it
 * must be quick (throttle, do not publish or print on every call); an exception it throws fails the
 * merge.
 */
@FunctionalInterface
public interface ProgressListener {
    /** Ignores progress. */
    ProgressListener NONE = (tensorsDone, tensorsTotal, bytesDone, bytesTotal) -> { };

    /**
     * @param tensorsDone output tensors written and closed
     * @param tensorsTotal output tensors of the merge
     * @param bytesDone output tensor bytes written (tensor data, not safetensors headers)
     * @param bytesTotal output tensor bytes of the merge
     */
    void progress(int tensorsDone, int tensorsTotal, long bytesDone, long bytesTotal);

    /**
     * Called once, from the caller of {@code execute}, after a merge's stages have all ended without
     * a failure: how each stage spent its time (the CLI prints this with {@code --profile}).
     */
    default void stages(List<StageTime> stages) {}
}
