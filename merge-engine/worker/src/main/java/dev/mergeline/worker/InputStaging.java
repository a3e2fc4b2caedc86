package dev.mergeline.worker;

import dev.mergeline.core.output.ModelFiles;
import dev.mergeline.core.run.InputLimits;
import dev.mergeline.core.run.InputRules;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.s3.ObjectChangedException;
import dev.mergeline.s3.ObjectInfo;
import dev.mergeline.s3.ObjectStore;
import dev.mergeline.s3.StorageException;
import dev.mergeline.safetensors.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * Brings a job's inputs from object storage to scratch: finds the files a merge uses, checks that
 * they are the ones validation saw (ETags) and that they fit the scratch space, then downloads them.
 */
final class InputStaging {

    /**
     * How much of the scratch volume jobs may use.
     *
     * @param maxScratchBytes at most this much, if set
     * @param minFreeScratchBytes leave this much of the volume free
     */
    record ScratchBudget(Optional<Long> maxScratchBytes, long minFreeScratchBytes) {}

    /** The files of a job's adapter and base, by plain file name. */
    record Inputs(Map<String, ObjectInfo> adapter, Map<String, ObjectInfo> base) {
        long adapterBytes() {
            return bytes(adapter);
        }

        long baseBytes() {
            return bytes(base);
        }

        private static long bytes(Map<String, ObjectInfo> files) {
            long sum = 0;
            for (ObjectInfo o : files.values()) {
                sum = Math.addExact(sum, o.size());
            }
            return sum;
        }
    }

    /** The scratch space cannot hold a job. */
    static final class ScratchSpaceException extends IOException {
        ScratchSpaceException(String message) {
            super(message);
        }
    }

    private final ObjectStore store;
    private final String bucket;
    private final InputLimits limits;
    private final ScratchBudget budget;

    InputStaging(ObjectStore store, String bucket, InputLimits limits, ScratchBudget budget) {
        this.store = store;
        this.bucket = bucket;
        this.limits = limits;
        this.budget = budget;
    }

    /**
     * The job's input files. The files named in the request must still have the ETags validation saw,
     * and the adapter's weights must be within this worker's limit (which may differ from the
     * validation's), otherwise the job is rejected before anything is downloaded.
     */
    Inputs locate(MergeRequested job) throws StorageException, RejectedException {
        Inputs inputs = new Inputs(files(job.adapter().prefix(), job.adapter().etags()),
                files(job.base().prefix(), job.base().etags()));
        ObjectInfo weights = inputs.adapter().get(InputRules.ADAPTER_WEIGHTS);
        if (weights != null) {
            Optional<Reason> tooLarge = limits.checkAdapterBytes(weights.key(), weights.size());
            if (tooLarge.isPresent()) {
                throw new RejectedException(tooLarge.get());
            }
        }
        return inputs;
    }

    /**
     * Scratch bytes a job needs: its inputs, plus the estimated output — the base's bytes (twice
     * that when a 16-bit base is written as fp32) plus the adapter's (heads it adds).
     */
    static long scratchBytesNeeded(Inputs inputs, Optional<DType> outputDType) {
        int factor = outputDType.map(d -> Math.max(1, d.byteSize() / 2)).orElse(1);
        long output = Math.addExact(Math.multiplyExact(factor, inputs.baseBytes()), inputs.adapterBytes());
        return Math.addExact(Math.addExact(inputs.adapterBytes(), inputs.baseBytes()), output);
    }

    /**
     * Refuses a job whose inputs plus estimated output do not fit {@code root}'s volume within the
     * budget. Checked before anything is downloaded, so a job that cannot fit fails at once instead
     * of filling the disk; a disk that fills anyway (other tenants) is still reported as full.
     */
    void ensureScratchSpace(String jobId, Inputs inputs, Optional<DType> outputDType, Path root)
            throws IOException {
        long needed = scratchBytesNeeded(inputs, outputDType);
        long usable = Files.getFileStore(root).getUsableSpace() - budget.minFreeScratchBytes();
        long available = budget.maxScratchBytes().map(l -> Math.min(l, usable)).orElse(usable);
        if (needed > available) {
            long in = inputs.adapterBytes() + inputs.baseBytes();
            throw new ScratchSpaceException("job " + jobId + " needs about " + needed + " bytes of scratch space"
                    + " (inputs " + in + ", estimated output " + (needed - in) + ") but " + Math.max(0, available)
                    + " are available in " + root
                    + budget.maxScratchBytes().map(l -> " (max-scratch-bytes " + l + ")").orElse("")
                    + (budget.minFreeScratchBytes() > 0
                            ? " (min-free-scratch-bytes " + budget.minFreeScratchBytes() + ")" : ""));
        }
    }

    /** Downloads every input, each pinned to the ETag it was listed with: one replaced meanwhile rejects the job. */
    void download(Inputs inputs, Path adapterDir, Path baseDir, LongConsumer progress)
            throws StorageException, RejectedException {
        download(inputs.adapter(), adapterDir, progress);
        download(inputs.base(), baseDir, progress);
    }

    private void download(Map<String, ObjectInfo> files, Path dir, LongConsumer progress)
            throws StorageException, RejectedException {
        for (Map.Entry<String, ObjectInfo> e : files.entrySet()) {
            try {
                store.download(bucket, e.getValue(), dir.resolve(e.getKey()), progress);
            } catch (ObjectChangedException changed) {
                throw inputChanged(changed.key(), changed.expectedEtag(), changed.actualEtag());
            }
        }
    }

    /** The objects directly under {@code prefix} that a merge uses (foreign weight formats are left out). */
    private Map<String, ObjectInfo> files(String prefix, Map<String, String> expectedEtags)
            throws StorageException, RejectedException {
        Map<String, ObjectInfo> found = new LinkedHashMap<>();
        for (ObjectInfo o : store.list(bucket, prefix)) {
            String name = o.key().substring(prefix.length());
            if (!name.contains("/") && !ModelFiles.isForeignWeights(name)) { // the merge carries the rest
                found.put(name, o);
            }
        }
        for (Map.Entry<String, String> e : expectedEtags.entrySet()) {
            ObjectInfo o = found.get(e.getKey());
            if (o == null || !e.getValue().equals(o.etag())) {
                throw inputChanged(prefix + e.getKey(), e.getValue(), o == null ? "absent" : o.etag());
            }
        }
        return found;
    }

    private static RejectedException inputChanged(String key, String expectedEtag, String actualEtag) {
        return new RejectedException(Reason.mismatch(ReasonCode.ADAPTER_FILES_MISSING, key,
                "input changed since validation; upload again to start a new job", expectedEtag,
                actualEtag == null ? "another ETag" : actualEtag));
    }
}
