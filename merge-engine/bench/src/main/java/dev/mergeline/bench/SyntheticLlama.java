package dev.mergeline.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.safetensors.CheckpointWriter;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.ShardLayout;
import dev.mergeline.safetensors.TensorSink;
import dev.mergeline.safetensors.TensorSpec;
import dev.mergeline.safetensors.WrittenFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a synthetic Llama-shaped checkpoint and a PEFT LoRA adapter for benchmarks:
 * {@code <out>/base} (bf16, Hugging Face names, {@code config.json} that transformers' LlamaConfig
 * accepts, sharded like {@code save_pretrained(max_shard_size="1GB")}) and {@code <out>/adapter}
 * ({@code adapter_config.json} as PEFT 0.21 writes it, fp32 {@code adapter_model.safetensors} with
 * LoRA factors on q, k, v, o, gate, up and down of every layer).
 *
 * <p>Weights come from a fixed-seed PRNG: finite bf16 values of magnitude 2⁻⁹…2⁻⁵ (the scale of
 * trained Llama weights), norms 1.0, lora_A ≈ U(±1/√in), lora_B ≈ U(±0.01) (non-zero, unlike a
 * freshly initialised adapter, so the merge really changes the weights). Nothing here is meant to be a language model.
 *
 * <pre>
 * java -jar mergeline-bench.jar --out DIR [--size-gib 2] [--layers N] [--hidden 4096]
 *      [--intermediate 11008] [--vocab 32000] [--rank 16] [--alpha 32] [--shard-size 1000000000] [--seed 1]
 *      [--fp8-block 128]
 * </pre>
 * Without {@code --layers}, as many layers as bring the bf16 checkpoint closest to {@code --size-gib}.
 * With {@code --fp8-block B}, the seven projections of every layer are FP8 block-scaled
 * ({@code F8_E4M3} weights, random finite bytes, and F32 {@code weight_scale_inv} grids of B × B
 * blocks; {@code quantization_config} {@code quant_method} "fp8"), as DeepSeek-V3 and Qwen3-FP8 ship.
 */
public final class SyntheticLlama {

    /** Projections a PEFT "all linear" Llama adapter targets, in module order. */
    static final List<String> TARGETS = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    /** The model's dimensions. Heads: {@code hidden / 128} (at least one), as Llama-2-7B. */
    public record Shape(int hidden, int intermediate, int vocab, int layers) {
        public Shape {
            if (hidden < 1 || intermediate < 1 || vocab < 1 || layers < 1) {
                throw new IllegalArgumentException("every dimension must be >= 1: " + this);
            }
        }

        int headDim() {
            return Math.min(128, hidden);
        }

        int heads() {
            return Math.max(1, hidden / headDim());
        }

        long paramsPerLayer() {
            return 4L * hidden * hidden + 3L * hidden * intermediate + 2L * hidden;
        }

        long fixedParams() {
            return 2L * vocab * hidden + hidden;
        }

        /** Bytes of bf16 weights. */
        public long bytes() {
            return 2 * (fixedParams() + layers * paramsPerLayer());
        }

        /** As many layers as bring the bf16 checkpoint closest to {@code bytes} (at least one). */
        public static Shape forBytes(int hidden, int intermediate, int vocab, long bytes) {
            Shape one = new Shape(hidden, intermediate, vocab, 1);
            double layers = (bytes / 2.0 - one.fixedParams()) / one.paramsPerLayer();
            return new Shape(hidden, intermediate, vocab, (int) Math.max(1, Math.round(layers)));
        }
    }

    /** What was written. */
    public record Result(Path base, Path adapter, Shape shape, long baseBytes, int baseFiles, long adapterBytes) {}

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final int CHUNK_BYTES = 16 << 20;

    private SyntheticLlama() {}

    public static void main(String[] args) throws IOException {
        Map<String, String> flags = new java.util.HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                System.err.println("usage: SyntheticLlama --out DIR [--size-gib 2] [--layers N] [--hidden 4096]"
                        + " [--intermediate 11008] [--vocab 32000] [--rank 16] [--alpha 32] [--shard-size 1000000000] [--seed 1]");
                System.exit(1);
            }
            flags.put(args[i].substring(2), args[i + 1]);
        }
        if (!flags.containsKey("out")) {
            System.err.println("SyntheticLlama: --out DIR is required");
            System.exit(1);
        }
        int hidden = Integer.parseInt(flags.getOrDefault("hidden", "4096"));
        int intermediate = Integer.parseInt(flags.getOrDefault("intermediate", "11008"));
        int vocab = Integer.parseInt(flags.getOrDefault("vocab", "32000"));
        Shape shape = flags.containsKey("layers")
                ? new Shape(hidden, intermediate, vocab, Integer.parseInt(flags.get("layers")))
                : Shape.forBytes(hidden, intermediate, vocab,
                        (long) (Double.parseDouble(flags.getOrDefault("size-gib", "2")) * (1L << 30)));
        long t0 = System.nanoTime();
        Result r = generate(Path.of(flags.get("out")), shape, Integer.parseInt(flags.getOrDefault("rank", "16")),
                Double.parseDouble(flags.getOrDefault("alpha", "32")),
                Long.parseLong(flags.getOrDefault("shard-size", "1000000000")),
                Long.parseLong(flags.getOrDefault("seed", "1")), Integer.parseInt(flags.getOrDefault("fp8-block", "0")));
        System.out.printf(Locale.ROOT, "generated %s: %d layers, %.3f GiB in %d files; adapter %.1f MiB (%.1f s)%n",
                r.base().getParent(), shape.layers(), r.baseBytes() / (double) (1L << 30), r.baseFiles(),
                r.adapterBytes() / (double) (1L << 20), (System.nanoTime() - t0) / 1e9);
    }

    /** Writes {@code out/base} and {@code out/adapter}; both must not exist yet or be empty. */
    public static Result generate(Path out, Shape shape, int rank, double alpha, long maxShardBytes, long seed)
            throws IOException {
        return generate(out, shape, rank, alpha, maxShardBytes, seed, 0);
    }

    /** As {@link #generate(Path, Shape, int, double, long, long)}; {@code fp8Block} > 0 quantizes the projections. */
    public static Result generate(Path out, Shape shape, int rank, double alpha, long maxShardBytes, long seed,
            int fp8Block) throws IOException {
        Path base = out.resolve("base");
        Path adapter = out.resolve("adapter");
        Files.createDirectories(base);
        Files.createDirectories(adapter);
        long baseBytes = 0;
        int baseFiles = 0;
        for (WrittenFile f : writeBase(base, shape, maxShardBytes, seed, fp8Block)) {
            baseBytes += Files.size(base.resolve(f.fileName()));
            baseFiles += f.fileName().endsWith(".safetensors") ? 1 : 0;
        }
        ObjectNode config = config(shape);
        if (fp8Block > 0) {
            ObjectNode q = config.putObject("quantization_config").put("activation_scheme", "dynamic").put("fmt", "e4m3")
                    .put("quant_method", "fp8");
            q.putArray("weight_block_size").add(fp8Block).add(fp8Block);
        }
        Files.write(base.resolve("config.json"), JSON.writeValueAsBytes(config));
        ObjectNode generation = JSON.createObjectNode().put("bos_token_id", 1).put("eos_token_id", 2)
                .put("transformers_version", "5.17.0");
        Files.write(base.resolve("generation_config.json"), JSON.writeValueAsBytes(generation));
        writeAdapter(adapter, shape, rank, seed);
        Files.write(adapter.resolve("adapter_config.json"),
                JSON.writeValueAsBytes(adapterConfig(base.toAbsolutePath().toString(), rank, alpha)));
        return new Result(base, adapter, shape, baseBytes, baseFiles, Files.size(adapter.resolve("adapter_model.safetensors")));
    }

    /** Base tensors in the order transformers' state_dict lists them. */
    static List<TensorSpec> baseTensors(Shape s) {
        return baseTensors(s, 0);
    }

    /** With {@code fp8Block} > 0, each projection is an F8_E4M3 weight followed by its F32 scale grid. */
    static List<TensorSpec> baseTensors(Shape s, int fp8Block) {
        List<TensorSpec> t = new ArrayList<>();
        t.add(bf16("model.embed_tokens.weight", s.vocab(), s.hidden()));
        for (int i = 0; i < s.layers(); i++) {
            String p = "model.layers." + i + ".";
            for (String proj : TARGETS) {
                int[] outIn = outIn(s, proj);
                String name = p + module(proj) + ".weight";
                if (fp8Block > 0) {
                    t.add(new TensorSpec(name, DType.F8_E4M3, List.of((long) outIn[0], (long) outIn[1])));
                    t.add(new TensorSpec(name + "_scale_inv", DType.F32, List.of(
                            (long) (outIn[0] + fp8Block - 1) / fp8Block, (long) (outIn[1] + fp8Block - 1) / fp8Block)));
                } else {
                    t.add(bf16(name, outIn[0], outIn[1]));
                }
            }
            t.add(bf16(p + "input_layernorm.weight", s.hidden()));
            t.add(bf16(p + "post_attention_layernorm.weight", s.hidden()));
        }
        t.add(bf16("model.norm.weight", s.hidden()));
        t.add(bf16("lm_head.weight", s.vocab(), s.hidden()));
        return t;
    }

    private static TensorSpec bf16(String name, long... shape) {
        List<Long> dims = new ArrayList<>();
        for (long d : shape) {
            dims.add(d);
        }
        return new TensorSpec(name, DType.BF16, dims);
    }

    /** {@code self_attn.q_proj} or {@code mlp.up_proj}. */
    static String module(String proj) {
        return (List.of("q_proj", "k_proj", "v_proj", "o_proj").contains(proj) ? "self_attn." : "mlp.") + proj;
    }

    /** [out_features, in_features] of a projection (no GQA: k and v are hidden × hidden). */
    static int[] outIn(Shape s, String proj) {
        return switch (proj) {
            case "gate_proj", "up_proj" -> new int[] {s.intermediate(), s.hidden()};
            case "down_proj" -> new int[] {s.hidden(), s.intermediate()};
            default -> new int[] {s.hidden(), s.hidden()};
        };
    }

    private static List<WrittenFile> writeBase(Path dir, Shape shape, long maxShardBytes, long seed, int fp8Block)
            throws IOException {
        List<TensorSpec> specs = baseTensors(shape, fp8Block);
        ShardLayout layout = ShardLayout.plan(specs, maxShardBytes);
        ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (CheckpointWriter writer = new CheckpointWriter(dir, layout, Map.of())) {
            for (TensorSpec spec : layout.tensors()) {
                SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + spec.name().hashCode());
                boolean norm = spec.name().endsWith("norm.weight");
                try (TensorSink sink = writer.next(spec.name())) {
                    for (long left = spec.byteLength(); left > 0; ) {
                        int n = (int) Math.min(CHUNK_BYTES, left);
                        chunk.clear().limit(n);
                        switch (spec.dtype()) {
                            case F8_E4M3 -> fillFp8(chunk, rng);
                            case F32 -> fillScales(chunk, rng);
                            default -> fillBf16(chunk, rng, norm);
                        }
                        sink.write(chunk);
                        left -= n;
                    }
                }
            }
            return writer.commit();
        }
    }

    /**
     * Fills the buffer (a multiple of 2 bytes) with bf16 values: sign and mantissa random, exponent
     * 2⁻⁹…2⁻⁶ (|x| in [0.002, 0.031]), four values per random long; or 1.0 for norm weights.
     */
    static void fillBf16(ByteBuffer chunk, SplittableRandom rng, boolean norm) {
        int n = chunk.remaining();
        LongBuffer longs = chunk.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
        int whole = n / 8;
        for (int i = 0; i < whole; i++) {
            longs.put(i, norm ? 0x3F803F803F803F80L : bf16Lanes(rng.nextLong()));
        }
        for (int i = whole * 8; i < n; i += 2) {
            chunk.putShort(chunk.position() + i, (short) (norm ? 0x3F80 : bf16Lanes(rng.nextLong())));
        }
    }

    /** Random finite e4m3 bytes (NaN, {@code S.1111.111}, becomes the largest value). */
    static void fillFp8(ByteBuffer chunk, SplittableRandom rng) {
        for (int i = chunk.position(); i < chunk.limit(); i++) {
            byte b = (byte) rng.nextInt();
            chunk.put(i, (b & 0x7F) == 0x7F ? (byte) (b - 1) : b);
        }
    }

    /** Block scales of weights whose largest magnitude is 2⁻⁶…2⁻⁵: amax / 448. */
    static void fillScales(ByteBuffer chunk, SplittableRandom rng) {
        for (int i = chunk.position(); i + 4 <= chunk.limit(); i += 4) {
            chunk.putFloat(i, (float) ((1 + rng.nextDouble()) / 64 / 448));
        }
    }

    private static long bf16Lanes(long x) {
        long signMantissa = x & 0x807F_807F_807F_807FL;
        long exponent = (((x >>> 7) & 0x0003_0003_0003_0003L) + 0x0076_0076_0076_0076L) << 7;
        return signMantissa | exponent;
    }

    private static void writeAdapter(Path dir, Shape s, int rank, long seed) throws IOException {
        List<TensorSpec> specs = new ArrayList<>();
        for (int i = 0; i < s.layers(); i++) {
            for (String proj : TARGETS) {
                int[] outIn = outIn(s, proj);
                String p = "base_model.model.model.layers." + i + "." + module(proj);
                specs.add(new TensorSpec(p + ".lora_A.weight", DType.F32, List.of((long) rank, (long) outIn[1])));
                specs.add(new TensorSpec(p + ".lora_B.weight", DType.F32, List.of((long) outIn[0], (long) rank)));
            }
        }
        ShardLayout layout = ShardLayout.plan(specs, Long.MAX_VALUE);
        if (!layout.shards().get(0).fileName().equals("model.safetensors")) {
            throw new IllegalStateException("adapter must be one file");
        }
        try (CheckpointWriter writer = new CheckpointWriter(dir, layout, Map.of())) {
            for (TensorSpec spec : specs) {
                SplittableRandom rng = new SplittableRandom(seed * 31 + spec.name().hashCode());
                boolean isA = spec.name().endsWith("lora_A.weight");
                double bound = isA ? 1 / Math.sqrt(spec.shape().get(1)) : 0.01;
                ByteBuffer data = ByteBuffer.allocate((int) spec.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
                FloatBuffer f = data.asFloatBuffer();
                for (int i = 0; i < f.limit(); i++) {
                    f.put(i, (float) ((rng.nextDouble() * 2 - 1) * bound));
                }
                try (TensorSink sink = writer.next(spec.name())) {
                    sink.write(data);
                }
            }
            writer.commit();
        }
        Files.move(dir.resolve("model.safetensors"), dir.resolve("adapter_model.safetensors"));
    }

    /** A config.json as transformers 5.17 writes it for LlamaForCausalLM. */
    static ObjectNode config(Shape s) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("attention_bias", false)
                .put("attention_dropout", 0.0)
                .put("bos_token_id", 1)
                .put("dtype", "bfloat16")
                .put("eos_token_id", 2)
                .put("head_dim", s.headDim())
                .put("hidden_act", "silu")
                .put("hidden_size", s.hidden())
                .put("initializer_range", 0.02)
                .put("intermediate_size", s.intermediate())
                .put("max_position_embeddings", 4096)
                .put("mlp_bias", false)
                .put("model_type", "llama")
                .put("num_attention_heads", s.heads())
                .put("num_hidden_layers", s.layers())
                .put("num_key_value_heads", s.heads())
                .put("pretraining_tp", 1)
                .put("rms_norm_eps", 1e-5);
        c.putObject("rope_parameters").put("rope_theta", 10000.0).put("rope_type", "default");
        c.put("tie_word_embeddings", false)
                .put("transformers_version", "5.17.0")
                .put("use_cache", true)
                .put("vocab_size", s.vocab());
        return c;
    }

    /** adapter_config.json with every field PEFT 0.21's LoraConfig saves, keys sorted as PEFT writes them. */
    static ObjectNode adapterConfig(String baseModel, int rank, double alpha) {
        ObjectNode c = JSON.createObjectNode();
        c.putNull("alora_invocation_tokens");
        c.putObject("alpha_pattern");
        c.putNull("arrow_config");
        c.putObject("auto_mapping")
                .put("base_model_class", "LlamaForCausalLM")
                .put("parent_library", "transformers.models.llama.modeling_llama");
        c.put("base_model_name_or_path", baseModel);
        c.put("bias", "none");
        c.putNull("corda_config");
        c.put("ensure_weight_tying", false);
        c.putNull("eva_config");
        c.putNull("exclude_modules");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        c.putNull("kasa_config");
        c.putNull("layer_replication");
        c.putNull("layers_pattern");
        c.putNull("layers_to_transform");
        c.putObject("loftq_config");
        if (alpha == Math.rint(alpha)) {
            c.put("lora_alpha", (long) alpha);
        } else {
            c.put("lora_alpha", alpha);
        }
        c.put("lora_bias", false);
        c.put("lora_dropout", 0.05);
        c.putNull("lora_ga_config");
        c.putNull("megatron_config");
        c.put("megatron_core", "megatron.core");
        c.putNull("modules_to_save");
        c.putNull("monteclora_config");
        c.put("peft_type", "LORA");
        c.put("peft_version", "0.21.0");
        c.put("qalora_group_size", 16);
        c.put("r", rank);
        c.putObject("rank_pattern");
        c.putNull("revision");
        ArrayNode targets = c.putArray("target_modules");
        TARGETS.forEach(targets::add);
        c.putNull("target_parameters");
        c.put("task_type", "CAUSAL_LM");
        c.putNull("trainable_token_indices");
        c.putNull("use_bdlora");
        c.put("use_dora", false);
        c.put("use_qalora", false);
        c.put("use_rslora", false);
        c.putNull("velora_config");
        return c;
    }
}
