package dev.mergeline.worker;

import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeProgress;
import dev.mergeline.events.MergedModelReady;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Keeps what a job publishes; can refuse outcome events as a broker that does not acknowledge them. */
final class RecordingJobEvents implements JobEvents {
    final List<MergeProgress> progress = new ArrayList<>();
    final List<MergedModelReady> ready = new ArrayList<>();
    final List<MergeFailed> failed = new ArrayList<>();
    private boolean refuseOutcomes;

    /** From now on outcome events are not acknowledged: publishing them hands the job back. */
    void refuseOutcomes() {
        refuseOutcomes = true;
    }

    @Override
    public void progress(MergeProgress data) {
        progress.add(data);
    }

    @Override
    public void awaitProgress(Duration timeout) {
        // delivered at once
    }

    @Override
    public void ready(MergedModelReady data) {
        checkAcknowledged(data.jobId());
        ready.add(data);
    }

    @Override
    public void failed(MergeFailed data) {
        checkAcknowledged(data.jobId());
        failed.add(data);
    }

    private void checkAcknowledged(String jobId) {
        if (refuseOutcomes) {
            throw new JobHandedBack("the broker did not acknowledge the event for job " + jobId);
        }
    }
}
