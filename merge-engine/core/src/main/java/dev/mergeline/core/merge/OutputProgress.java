package dev.mergeline.core.merge;

import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.PlannedTensor;

/**
 * Counts what {@link MergeExecutor} has handed to the writer and tells the {@link ProgressListener};
 * used by one thread.
 */
final class OutputProgress {
    private final ProgressListener listener;
    private final int tensorsTotal;
    private final long bytesTotal;
    private int tensorsDone;
    private long bytesDone;

    private OutputProgress(ProgressListener listener, int tensorsTotal, long bytesTotal) {
        this.listener = listener;
        this.tensorsTotal = tensorsTotal;
        this.bytesTotal = bytesTotal;
    }

    /** Tells {@code listener} that nothing of {@code plan} is written yet. */
    static OutputProgress of(MergePlan plan, ProgressListener listener) {
        long bytes = 0;
        for (PlannedTensor t : plan.tensors()) {
            bytes += t.spec().byteLength();
        }
        OutputProgress p = new OutputProgress(listener, plan.tensors().size(), bytes);
        p.tell();
        return p;
    }

    void bytes(long written) {
        bytesDone += written;
        tell();
    }

    void tensor() {
        tensorsDone++;
        tell();
    }

    private void tell() {
        listener.progress(tensorsDone, tensorsTotal, bytesDone, bytesTotal);
    }
}
