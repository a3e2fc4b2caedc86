package dev.mergeline.core.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.mergeline.core.EngineInfo;
import dev.mergeline.core.merge.AdapterScan;
import dev.mergeline.core.merge.MergeExecutor;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.core.merge.MergeVerification;
import dev.mergeline.core.merge.ProgressListener;
import dev.mergeline.core.merge.VerificationReport;
import dev.mergeline.core.merge.TensorStore;
import dev.mergeline.core.output.Hashes;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.output.ModelFiles;
import dev.mergeline.core.output.OutputDirectory;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.plan.TensorOp;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.CheckpointWriter;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.FileNames;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.ShardLayout;
import dev.mergeline.safetensors.WrittenFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A merge between local directories, as the {@code mergeline} CLI runs it: open and validate,
 * scan adapter weights, plan shards, execute, write config and the model files the base carries, manifest last.
 */
public final class OfflineMerger {
    private final MergeKernel kernel;
    private final InputLimits limits;
    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final Validator validator = new Validator();

    /** A merger whose inputs are bounded by {@link InputLimits#defaults()}. */
    public OfflineMerger(MergeKernel kernel) {
        this(kernel, InputLimits.defaults());
    }

    public OfflineMerger(MergeKernel kernel, InputLimits limits) {
        this.kernel = kernel;
        this.limits = java.util.Objects.requireNonNull(limits, "limits");
    }

    /** Validation only: configs and headers, no weights. */
    public MergePlan validate(Path baseDir, Path adapterDir, MergeOptions options) throws IOException, RejectedException {
        try (LocalInputs in = LocalInputs.open(baseDir, adapterDir, limits)) {
            MergePlan plan = validator.validate(in.inputs(), options);
            TokenizerAgreement.check(plan, baseDir, adapterDir);
            return plan;
        }
    }

    public Manifest merge(Path baseDir, Path adapterDir, Path outDir, MergeOptions options)
            throws IOException, RejectedException {
        return merge(baseDir, adapterDir, outDir, options, ProgressListener.NONE);
    }

    /**
     * Merges {@code adapterDir} into {@code baseDir}'s checkpoint in {@code outDir}, telling
     * {@code progress} how many output tensors and tensor bytes are written (see {@link ProgressListener}).
     */
    public Manifest merge(Path baseDir, Path adapterDir, Path outDir, MergeOptions options, ProgressListener progress)
            throws IOException, RejectedException {
        Map<String, Long> timings = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        try (LocalInputs in = LocalInputs.open(baseDir, adapterDir, limits)) {
            MergePlan plan = validator.validate(in.inputs(), options);
            TokenizerAgreement.check(plan, baseDir, adapterDir);
            AdapterScan.requireFinite(in.adapter(), kernel);
            long t1 = lap(timings, "validate", t0);
            OutputDirectory out = OutputDirectory.prepare(outDir);
            try {
                MergeVerification verification = new MergeVerification(options.verificationSeed() != null
                        ? options.verificationSeed() : Hashes.sha256(plan.adapter().raw().toString()
                                .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                List<WrittenFile> files = writeWeights(plan, in, out, options, verification, progress);
                long t2 = lap(timings, "merge", t1);
                files.add(out.write(InputRules.BASE_CONFIG, json.writeValueAsBytes(plan.outputConfig())));
                files.addAll(copyModelFiles(baseDir, adapterDir, out));
                lap(timings, "write", t2);
                timings.put("total", (System.nanoTime() - t0) / 1_000_000);
                Manifest manifest = manifest(plan, in, baseDir, adapterDir, files, timings, options,
                        verification.report());
                out.write(Manifest.FILE_NAME, json.writeValueAsBytes(manifest));
                return manifest;
            } catch (IOException | RejectedException | RuntimeException e) {
                out.rollback();
                throw e;
            }
        }
    }

    private List<WrittenFile> writeWeights(MergePlan plan, LocalInputs in, OutputDirectory out, MergeOptions options,
            MergeVerification verification, ProgressListener progress) throws IOException, RejectedException {
        ShardLayout layout = ShardLayout.plan(plan.tensors().stream().map(PlannedTensor::spec).toList(),
                options.maxShardBytes());
        try (CheckpointWriter writer = new CheckpointWriter(out.path(), layout, Map.of())) {
            new MergeExecutor(kernel, options.blockBytes(), verification)
                    .execute(plan, new TensorStore(in.base(), in.adapter()), writer, progress);
            List<WrittenFile> files = writer.commit();
            out.adopt(files);
            return new ArrayList<>(files);
        }
    }

    /** The base's non-weight files and the adapter's tokenizer/processor files, by {@link ModelFiles}. */
    private static List<WrittenFile> copyModelFiles(Path baseDir, Path adapterDir, OutputDirectory out)
            throws IOException {
        List<WrittenFile> written = new ArrayList<>();
        for (Map.Entry<String, Path> e : ModelFiles.carried(baseDir, adapterDir).entrySet()) {
            written.add(out.copy(e.getValue(), e.getKey()));
        }
        return written;
    }

    private Manifest manifest(MergePlan plan, LocalInputs in, Path baseDir, Path adapterDir, List<WrittenFile> files,
            Map<String, Long> timings, MergeOptions options, VerificationReport verification) throws IOException {
        List<Manifest.FileEntry> baseFiles = new ArrayList<>();
        StringBuilder identity = new StringBuilder();
        Path config = baseDir.resolve(InputRules.BASE_CONFIG);
        baseFiles.add(new Manifest.FileEntry(InputRules.BASE_CONFIG, Files.size(config), Hashes.sha256(config, Long.MAX_VALUE)));
        for (SafetensorsFile f : in.base().files()) {
            String headerSha = Hashes.sha256(f.path(), f.header().dataStart());
            baseFiles.add(new Manifest.FileEntry(f.path().getFileName().toString(), Files.size(f.path()), headerSha));
        }
        baseFiles.forEach(f -> identity.append(f.name()).append(':').append(f.bytes()).append(':').append(f.sha256()).append('\n'));
        List<Manifest.FileEntry> adapterFiles = new ArrayList<>();
        for (String name : List.of(InputRules.ADAPTER_CONFIG, InputRules.ADAPTER_WEIGHTS)) {
            Path p = adapterDir.resolve(name);
            adapterFiles.add(new Manifest.FileEntry(name, Files.size(p), Hashes.sha256(p, Long.MAX_VALUE)));
        }
        List<String> mergedModules = plan.tensors().stream()
                .filter(t -> t.op().unwrapped() instanceof TensorOp.LowRank)
                // a fused expert parameter (gpt-oss mlp.experts.gate_up_proj) has no .weight suffix
                .map(t -> t.name().endsWith(".weight") ? t.name().substring(0, t.name().length() - ".weight".length())
                        : t.name())
                .toList();
        boolean sharded = files.stream().anyMatch(f -> f.fileName().equals(FileNames.INDEX));
        return new Manifest(1,
                new Manifest.Engine("mergeline", EngineInfo.VERSION, EngineInfo.MERGE_SEMANTICS, kernel.executionProvider()),
                new Manifest.Base(baseDir.toString(), plan.outputConfig().path("architectures").path(0).asText("unknown"),
                        Hashes.sha256(identity.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)), baseFiles),
                new Manifest.Adapter(adapterDir.toString(), "LORA", plan.adapter().r(), mergedModules, adapterFiles,
                        plan.adapter().raw(), plan.configDefaults()),
                new Manifest.Output("safetensors", options.outputDType().orElse(dominant(plan)).torchName(),
                        quantization(plan), sharded, files.stream().map(Manifest.FileEntry::of).toList()),
                plan.counts(), notes(plan, verification), timings, verification);
    }

    private static List<String> notes(MergePlan plan, VerificationReport verification) {
        List<String> notes = new ArrayList<>(plan.notes());
        if (verification.unchangedNote() != null) {
            notes.add(verification.unchangedNote());
        }
        return notes;
    }

    /** The output's FP8 block scaling, from the merged config.json (absent once dequantized). */
    private static Manifest.Quantization quantization(MergePlan plan) {
        com.fasterxml.jackson.databind.JsonNode q = plan.outputConfig().get("quantization_config");
        if (q == null || q.isNull()) {
            return null;
        }
        List<Integer> block = new ArrayList<>();
        q.path("weight_block_size").forEach(n -> block.add(n.asInt()));
        return new Manifest.Quantization(q.path("quant_method").asText(), "float8_" + q.path("fmt").asText("e4m3") + "fn",
                block);
    }

    private static DType dominant(MergePlan plan) {
        Map<DType, Long> bytes = new EnumMap<>(DType.class);
        plan.tensors().stream().filter(t -> t.dtype().isMergeable())
                .forEach(t -> bytes.merge(t.dtype(), t.spec().byteLength(), Long::sum));
        return bytes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(DType.F32);
    }

    private static long lap(Map<String, Long> timings, String phase, long since) {
        long now = System.nanoTime();
        timings.put(phase, (now - since) / 1_000_000);
        return now;
    }
}
