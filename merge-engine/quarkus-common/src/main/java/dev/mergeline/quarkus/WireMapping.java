package dev.mergeline.quarkus;

import dev.mergeline.core.EngineInfo;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.events.Counts;
import dev.mergeline.events.JobId;
import dev.mergeline.events.MergeOptions;
import dev.mergeline.events.Problem;
import dev.mergeline.safetensors.DType;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Between the engine's values (merge-engine/core) and the wire contract's (merge-engine/events), which
 * depends on Jackson only: validation reasons as problems and back, plan counts, merge options, job ids
 * with this engine's merge semantics.
 */
public final class WireMapping {

    private WireMapping() {}

    /** The validation reason as a problem, code and all fields kept. */
    public static Problem problem(Reason reason) {
        return new Problem(reason.code().name(), reason.message(), reason.tensor(), reason.expected(),
                reason.actual(), reason.detail());
    }

    public static List<Problem> problems(List<Reason> reasons) {
        return reasons.stream().map(WireMapping::problem).toList();
    }

    /** The validation reason a problem carries (equal to the one {@link #problem} was given), for validation codes. */
    public static Optional<Reason> reason(Problem problem) {
        return reasonCode(problem).map(c -> new Reason(c, problem.message(), problem.tensor(), problem.expected(),
                problem.actual(), problem.detail()));
    }

    /** The validation reason code, when the problem's code is one this engine knows. */
    public static Optional<ReasonCode> reasonCode(Problem problem) {
        for (ReasonCode c : ReasonCode.values()) {
            if (c.name().equals(problem.code())) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    public static Counts counts(MergePlan.Counts c) {
        return new Counts(c.merged(), c.replaced(), c.added(), c.copied());
    }

    /** The engine's options for a request's options (default row-block size). */
    public static dev.mergeline.core.run.MergeOptions engineOptions(MergeOptions options) {
        Optional<DType> dtype = Optional.ofNullable(options.dtype()).flatMap(DType::fromTorchName);
        return new dev.mergeline.core.run.MergeOptions(dtype, options.effectiveMaxShardBytes(),
                dev.mergeline.core.run.MergeOptions.defaults().blockBytes());
    }

    /** {@link JobId#compute} with this engine's {@link EngineInfo#MERGE_SEMANTICS}. */
    public static String jobId(Map<String, String> adapterEtags, String baseIdentity, MergeOptions options) {
        return JobId.compute(adapterEtags, baseIdentity, EngineInfo.MERGE_SEMANTICS, options);
    }
}
