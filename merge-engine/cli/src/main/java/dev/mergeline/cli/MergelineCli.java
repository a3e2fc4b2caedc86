package dev.mergeline.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.merge.MergeExecutor;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.core.merge.ProgressListener;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.merge.StageTime;
import dev.mergeline.core.merge.VerificationFailedException;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.run.InputLimits;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.serving.ServingRules;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.onnx.OnnxMergeKernel;
import dev.mergeline.safetensors.DType;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * {@code mergeline merge|validate}: prints one JSON report on stdout and exits 0 (merged/valid),
 * 2 (rejected: the report lists reasons) or 1 (any other failure). {@code merge} also draws a
 * progress line on stderr ({@link TerminalProgress}) when {@code --progress} says so; stdout never
 * carries anything but the report.
 */
public final class MergelineCli {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int REJECTED = 2;

    private static final String USAGE = """
            usage:
              mergeline merge    --base DIR --adapter DIR --out DIR [--dtype bf16|fp16|fp32] [--shard-size 5GB]
                                 [--progress auto|always|never] [--block-size 8MiB] [--profile true|false]
              mergeline validate --base DIR --adapter DIR [--dtype bf16|fp16|fp32]
            Limits (both commands): [--max-adapter-size 16GiB] [--max-tensors 131072]
            Prints one JSON report on stdout. Exit status: 0 merged/valid, 2 rejected, 1 other failure.
            merge shows a progress line on stderr when it is a terminal (auto), always, or never;
            --profile true prints how long each merge stage was busy, on stderr.""";

    private final ObjectMapper json = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    public static void main(String[] args) {
        System.exit(new MergelineCli().run(args, System.out, System.err));
    }

    int run(String[] args, PrintStream out, PrintStream err) {
        CliArguments cli;
        try {
            cli = CliArguments.parse(Arrays.asList(args));
        } catch (CliArguments.UsageException e) {
            err.println("mergeline: " + e.getMessage());
            err.println(USAGE);
            return report(out, failure("usage", e.getMessage()), FAILED);
        }
        if (cli.command().equals("help")) {
            out.println(USAGE);
            return OK;
        }
        try {
            MergeOptions options = options(cli);
            InputLimits limits = limits(cli);
            boolean showProgress = TerminalProgress.Mode.shows(cli.flags().get("progress"),
                    System.getProperty("mergeline.progress"));
            // validate reads configs and headers only: no arithmetic, so no ONNX Runtime and no start-up probe
            try (MergeKernel kernel = cli.command().equals("validate") ? new ReferenceMergeKernel() : kernel(cli)) {
                OfflineMerger merger = new OfflineMerger(kernel, limits);
                Path base = Path.of(cli.flags().get("base"));
                Path adapter = Path.of(cli.flags().get("adapter"));
                if (cli.command().equals("validate")) {
                    MergePlan plan = merger.validate(base, adapter, options);
                    ObjectNode r = json.createObjectNode().put("status", "valid");
                    r.set("counts", json.valueToTree(plan.counts()));
                    r.put("tensors", plan.tensors().size());
                    r.set("notes", json.valueToTree(plan.notes()));
                    r.set("configDefaults", json.valueToTree(plan.configDefaults()));
                    r.set("serving", json.valueToTree(ServingRules.bundled().assess(plan)));
                    return report(out, r, OK);
                }
                Path dir = Path.of(cli.flags().get("out"));
                TerminalProgress progress = showProgress ? new TerminalProgress(err, System::nanoTime) : null;
                ProgressListener listener = listener(progress, profile(cli), err);
                Manifest manifest;
                boolean completed = false;
                try {
                    manifest = merger.merge(base, adapter, dir, options, listener);
                    completed = true;
                } finally {
                    if (progress != null) {
                        progress.end(completed);
                    }
                }
                ObjectNode r = json.createObjectNode().put("status", "merged").put("output", dir.toString());
                r.set("manifest", json.valueToTree(manifest));
                return report(out, r, OK);
            }
        } catch (RejectedException e) {
            ObjectNode r = json.createObjectNode().put("status", "rejected");
            r.set("reasons", json.valueToTree(e.reasons()));
            return report(out, r, REJECTED);
        } catch (CliArguments.UsageException e) {
            err.println("mergeline: " + e.getMessage());
            return report(out, failure("usage", e.getMessage()), FAILED);
        } catch (VerificationFailedException e) {
            err.println("mergeline: verification failed: " + e.getMessage());
            return report(out, failure("VERIFICATION_FAILED", e.getMessage()), FAILED);
        } catch (Exception e) {
            err.println("mergeline: " + e);
            return report(out, failure(e.getClass().getSimpleName(), String.valueOf(e.getMessage())), FAILED);
        }
    }

    private MergeOptions options(CliArguments cli) throws CliArguments.UsageException {
        MergeOptions d = MergeOptions.defaults();
        Optional<DType> dtype = Optional.empty();
        String dtypeFlag = cli.flags().get("dtype");
        if (dtypeFlag != null) {
            dtype = DType.fromTorchName(dtypeFlag).filter(DType::isMergeable);
            if (dtype.isEmpty()) {
                throw new CliArguments.UsageException("--dtype must be bf16, fp16 or fp32, got " + dtypeFlag);
            }
        }
        String shard = cli.flags().get("shard-size");
        long shardBytes = shard == null ? d.maxShardBytes() : CliArguments.parseSize("shard-size", shard);
        return new MergeOptions(dtype, shardBytes, blockBytes(cli));
    }

    /**
     * {@code --block-size}, else the JVM option {@code -Dmergeline.blockBytes=N} (for
     * {@code MERGELINE_JAVA_OPTS}), else {@link MergeExecutor#DEFAULT_BLOCK_BYTES}.
     */
    static long blockBytes(CliArguments cli) throws CliArguments.UsageException {
        String flag = cli.flags().get("block-size");
        if (flag != null) {
            return CliArguments.parseSize("block-size", flag);
        }
        String property = System.getProperty("mergeline.blockBytes");
        return property == null ? MergeExecutor.DEFAULT_BLOCK_BYTES
                : CliArguments.parseSize("-Dmergeline.blockBytes", property);
    }

    /** {@code --profile true|false}, else the JVM option {@code -Dmergeline.profile=true}. */
    static boolean profile(CliArguments cli) throws CliArguments.UsageException {
        String flag = cli.flags().getOrDefault("profile", System.getProperty("mergeline.profile", "false"));
        return switch (flag) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new CliArguments.UsageException("--profile must be true or false, got " + flag);
        };
    }

    /** Progress to {@code progress} (if any); with {@code profile}, the stages' times to {@code err} at the end. */
    private static ProgressListener listener(TerminalProgress progress, boolean profile, PrintStream err) {
        ProgressListener drawn = progress == null ? ProgressListener.NONE : progress;
        return new ProgressListener() {
            @Override
            public void progress(int tensorsDone, int tensorsTotal, long bytesDone, long bytesTotal) {
                drawn.progress(tensorsDone, tensorsTotal, bytesDone, bytesTotal);
            }

            @Override
            public void stages(java.util.List<StageTime> stages) {
                if (profile) {
                    err.println("mergeline: stages: " + stages.stream().map(StageTime::toString)
                            .collect(java.util.stream.Collectors.joining(", ")));
                }
            }
        };
    }

    /** {@code --max-adapter-size} and {@code --max-tensors}; the defaults of {@link InputLimits} otherwise. */
    private static InputLimits limits(CliArguments cli) throws CliArguments.UsageException {
        InputLimits d = InputLimits.defaults();
        String size = cli.flags().get("max-adapter-size");
        String tensors = cli.flags().get("max-tensors");
        return new InputLimits(size == null ? d.maxAdapterBytes() : CliArguments.parseSize("max-adapter-size", size),
                d.maxHeaderBytes(),
                tensors == null ? d.maxTensorCount() : CliArguments.parseCount("max-tensors", tensors));
    }

    /**
     * ONNX Runtime (CUDA when the gpu build finds a GPU, else CPU), started while the inputs are
     * validated ({@link StartingKernel}); {@code --kernel java} runs the reference.
     */
    private static MergeKernel kernel(CliArguments cli) throws CliArguments.UsageException {
        String kind = cli.flags().getOrDefault("kernel", "onnx");
        return switch (kind) {
            case "onnx" -> {
                boolean preferCuda = !"cpu".equalsIgnoreCase(System.getenv("MERGELINE_DEVICE"));
                int threads = ortThreads(System.getenv("MERGELINE_ORT_THREADS"));
                yield StartingKernel.start(() -> OnnxMergeKernel.create(preferCuda, threads));
            }
            case "java" -> new ReferenceMergeKernel();
            default -> throw new CliArguments.UsageException("--kernel must be onnx or java, got " + kind);
        };
    }

    /** {@code MERGELINE_ORT_THREADS}, else {@link OnnxMergeKernel#defaultThreads()}. */
    static int ortThreads(String env) throws CliArguments.UsageException {
        if (env == null || env.isBlank()) {
            return OnnxMergeKernel.defaultThreads();
        }
        try {
            int n = Integer.parseInt(env.trim());
            if (n >= 1 && n <= 1024) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new CliArguments.UsageException("MERGELINE_ORT_THREADS must be a whole number from 1 to 1024, got '"
                + env + "'");
    }

    private ObjectNode failure(String kind, String message) {
        ObjectNode r = json.createObjectNode().put("status", "failed");
        r.putObject("error").put("kind", kind).put("message", message);
        return r;
    }

    private int report(PrintStream out, ObjectNode report, int status) {
        try {
            out.println(json.writeValueAsString(report));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            out.println("{\"status\":\"failed\"}");
            return FAILED;
        }
        return status;
    }
}
