package dev.mergeline.core.output;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.mergeline.core.peft.DefaultedField;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.safetensors.WrittenFile;
import dev.mergeline.core.merge.VerificationReport;
import java.util.List;
import java.util.Map;

/**
 * {@code MANIFEST.json}, written last into a merged checkpoint: its presence means the output is
 * complete. Lists every other file with its size and SHA-256, and where the merge came from.
 *
 * @param manifestVersion format version of this document
 * @param engine the engine that merged
 * @param base the base checkpoint
 * @param adapter the adapter
 * @param output the files written (all but this manifest)
 * @param counts tensors merged, replaced, added and copied
 * @param notes decisions the merge made (untied embeddings, added heads, ...)
 * @param timingsMs wall time of each phase in milliseconds
 * @param verification how every merged tensor was checked against the adapter (see docs/verification.md)
 */
public record Manifest(
        int manifestVersion,
        Engine engine,
        Base base,
        Adapter adapter,
        Output output,
        MergePlan.Counts counts,
        List<String> notes,
        Map<String, Long> timingsMs,
        VerificationReport verification) {

    public static final String FILE_NAME = "MANIFEST.json";

    /**
     * @param name always "mergeline"
     * @param version engine release
     * @param mergeSemantics version of the merge arithmetic and naming rules
     * @param executionProvider where the arithmetic ran ("CPU", "CUDA", "java")
     */
    public record Engine(String name, String version, String mergeSemantics, String executionProvider) {}

    /**
     * @param source where the base was read from (directory or S3 prefix)
     * @param architecture first entry of {@code architectures}
     * @param identity SHA-256 over config.json and each weight file's name, size and header
     * @param files base weight and config files with their sizes (sha256 of their headers)
     */
    public record Base(String source, String architecture, String identity, List<FileEntry> files) {}

    /**
     * @param source where the adapter was read from
     * @param peftType "LORA"
     * @param r default rank
     * @param mergedModules modules whose weights received a LoRA delta
     * @param files adapter files with full SHA-256
     * @param config the adapter_config.json as read
     * @param configDefaults fields of the config that were absent or null, with the value PEFT 0.21 uses and
     *     where it comes from (a {@code LoraConfig} default or the per-architecture {@code target_modules} table)
     */
    public record Adapter(String source, String peftType, int r, List<String> mergedModules, List<FileEntry> files,
            JsonNode config, Map<String, DefaultedField> configDefaults) {}

    /**
     * @param format "safetensors"
     * @param dtype dtype of the floating-point weights (of those not quantized, when {@code quantization} is set)
     * @param quantization how the weights are quantized, as {@code config.json}'s {@code quantization_config}
     *     says; absent for plain weights of {@code dtype}
     * @param sharded whether {@code model.safetensors.index.json} lists several shards
     * @param files every file of the output except this manifest
     */
    public record Output(String format, String dtype,
            @JsonInclude(JsonInclude.Include.NON_NULL) Quantization quantization, boolean sharded,
            List<FileEntry> files) {
        /** Plain weights, none quantized. */
        public Output(String format, String dtype, boolean sharded, List<FileEntry> files) {
            this(format, dtype, null, sharded, files);
        }
    }

    /**
     * The quantization of an output's weights.
     *
     * @param method {@code quant_method} ("fp8")
     * @param format the element format of the quantized weights ("float8_e4m3fn")
     * @param weightBlockSize rows and columns per scale block
     */
    public record Quantization(String method, String format, List<Integer> weightBlockSize) {}

    /** A file with its size and hex SHA-256. */
    public record FileEntry(String name, long bytes, String sha256) {
        public static FileEntry of(WrittenFile f) {
            return new FileEntry(f.fileName(), f.bytes(), f.sha256Hex());
        }
    }
}
