package dev.mergeline.core.hostile;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.testing.PeftFixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Generates the committed hostile-input corpus {@code merge-engine/fixtures/hostile/} and the
 * Jazzer seed inputs derived from it. Every case is a valid fixture adapter with exactly one thing
 * made hostile, plus {@code expected.json}: the reason code (and detail) it must be rejected with.
 *
 * <p>Regenerate after changing a case (the output is deterministic; {@code HostileCorpusTest}
 * fails while the committed files differ from what this class writes):
 * <pre>
 * ./mvnw -B -pl merge-engine/core test -Dtest=HostileCorpusTest -Dmergeline.hostile.write=true
 * </pre>
 */
public final class HostileCorpus {
    /** Where the corpus lives, relative to {@code merge-engine/}. */
    public static final String DIR = "fixtures/hostile";
    /** Jazzer regression inputs of the safetensors header fuzz test ({@code file} target). */
    static final String HEADER_SEEDS =
            "safetensors/src/test/resources/dev/mergeline/safetensors/SafetensorsHeaderFuzzTestInputs/file";
    /** Jazzer regression inputs of the adapter config fuzz test. */
    static final String CONFIG_SEEDS =
            "core/src/test/resources/dev/mergeline/core/peft/AdapterConfigFuzzTestInputs/parse";

    /** The base every case merges into unless it names another fixture case. */
    static final String DEFAULT_BASE = "llama-bf16-plain";

    private static final String LORA_A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
    private static final String LORA_B = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path fixtures;
    private final byte[] plainConfig;
    private final byte[] plainWeights;
    private final Map<String, byte[]> out = new TreeMap<>();

    private HostileCorpus(Path mergeEngine) throws IOException {
        this.fixtures = mergeEngine.resolve("fixtures");
        Path plain = fixtures.resolve("cases").resolve(DEFAULT_BASE).resolve("adapter");
        this.plainConfig = Files.readAllBytes(plain.resolve("adapter_config.json"));
        this.plainWeights = Files.readAllBytes(plain.resolve("adapter_model.safetensors"));
    }

    /** {@code merge-engine/}, found from any module directory. */
    public static Path mergeEngineDir() {
        return PeftFixtures.casesDir().getParent().getParent();
    }

    /** Every generated file: path relative to {@code merge-engine/} → content. */
    public static Map<String, byte[]> files(Path mergeEngine) throws IOException {
        HostileCorpus c = new HostileCorpus(mergeEngine);
        c.headerCases();
        c.configCases();
        c.weightCases();
        c.quantizedBaseCases();
        c.seeds();
        return c.out;
    }

    /** Writes every generated file (creating directories); does not delete anything. */
    public static void write(Path mergeEngine) throws IOException {
        for (Map.Entry<String, byte[]> e : files(mergeEngine).entrySet()) {
            Path p = mergeEngine.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, e.getValue());
        }
    }

    public static void main(String[] args) throws IOException {
        Path mergeEngine = args.length > 0 ? Path.of(args[0]) : mergeEngineDir();
        write(mergeEngine);
        System.out.println("wrote " + mergeEngine.resolve(DIR));
    }

    // --- safetensors headers: SAFETENSORS_HEADER_INVALID with the format's sub-reason ---

    private void headerCases() {
        String valid = validHeader();
        header("header-length-2pow63", withLength(1L << 63, bytes("{}"), 0), "HEADER_TOO_LARGE",
                "the 8-byte length is 2^63 (negative as a signed long); compared unsigned, so above the 100 MB limit,"
                        + " and nothing is allocated for it");
        header("header-length-100mb-plus-1", withLength(100_000_001L, bytes("{}"), 0), "HEADER_TOO_LARGE",
                "length 100,000,001, one above the reference implementation's limit; only the 8-byte prefix (and"
                        + " \"{}\") is on disk: the limit is enforced before anything is read");
        header("header-length-past-eof", withLength(bytes(valid).length + 1000L, bytes(valid), 32),
                "INVALID_HEADER_LENGTH", "the length points 1000 bytes past the end of the file");
        header("header-file-too-small", new byte[] {2, 0, 0, 0}, "HEADER_TOO_SMALL",
                "a 4-byte file cannot even hold the 8-byte header length");
        header("header-length-below-minimum", withLength(1, bytes("{"), 0), "HEADER_TOO_SMALL",
                "a header length of 1 cannot hold the smallest header \"{}\"");
        header("header-invalid-utf8", file(insertAfter(valid, "lora_A", 0xff, 0xfe), 32), "INVALID_UTF8",
                "0xFF 0xFE inside a tensor name are not UTF-8 (strict decoding: never replaced by U+FFFD)");
        header("header-overlong-utf8", file(insertAfter(valid, "layers", 0xc0, 0xae, 0xc0, 0xae), 32), "INVALID_UTF8",
                "overlong encodings of '.' (C0 AE) in a tensor name, the classic way to smuggle '..' past a filter");
        header("header-utf8-surrogate", file(insertAfter(valid, "\"p", 0xed, 0xa0, 0x80), 32), "INVALID_UTF8",
                "a UTF-16 surrogate encoded as UTF-8 (CESU-8) in a metadata value is not valid UTF-8");
        int depth = 100_000;
        header("header-deeply-nested", file("{\"__metadata__\":" + "[".repeat(depth) + "]".repeat(depth) + "}", 0),
                "INVALID_JSON", "100,000 nested arrays (200 KB): a recursive parser without a depth limit overflows"
                        + " its stack; the limit is 8 levels");
        String longName = "a".repeat(65_537);
        header("header-huge-tensor-name", file(tensorHeader(longName, "F32", "[2,2]", 0, 16), 16), "INVALID_JSON",
                "a tensor name of 65,537 characters, above the 64 KiB name limit");
        header("header-huge-number", file(tensorHeader(LORA_A, "F32", "[1" + "0".repeat(99) + "]", 0, 16), 16),
                "INVALID_JSON", "a 100-digit number literal, above the 64-character number limit (no BigInteger"
                        + " arithmetic on attacker-sized numbers)");
        header("header-duplicate-tensor", file("{" + entry(LORA_A, "F32", "[2,2]", 0, 16) + ","
                + entry(LORA_A, "F32", "[2,2]", 16, 32) + "}", 32), "DUPLICATE_KEY",
                "the same tensor twice: which one a reader keeps differs between JSON libraries");
        header("header-duplicate-field", file("{\"" + LORA_A + "\":{\"dtype\":\"F32\",\"dtype\":\"F16\","
                + "\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16), "DUPLICATE_KEY",
                "one tensor entry names its dtype twice (F32 and F16)");
        header("header-offsets-overlap", file(twoTensors("[2,2]", 0, 16, "[2,2]", 8, 24), 24), "INVALID_OFFSETS",
                "lora_B starts inside lora_A: two tensors share bytes");
        header("header-offsets-past-end", file(twoTensors("[2,2]", 0, 16, "[2,2]", 16, 32), 24), "INVALID_OFFSETS",
                "lora_B ends at 32 but the data section holds 24 bytes (out of range)");
        header("header-offsets-beyond-int64", file(twoTensors("[2,2]", 0, 16, "[2,2]", 16, "18446744073709551616"),
                32), "INVALID_OFFSETS", "an end offset of 2^64, beyond any signed 64-bit value");
        header("header-offsets-negative", file(twoTensors("[2,2]", 0, 16, "[2,2]", -16, 0), 32), "INVALID_OFFSETS",
                "a negative begin offset");
        header("header-offsets-reversed", file(twoTensors("[2,2]", 0, 16, "[0]", 16, 0), 16), "INVALID_OFFSETS",
                "data_offsets [16, 0]: the end before the begin");
        header("header-offsets-gap", file(twoTensors("[2,2]", 0, 16, "[2,2]", 24, 40), 40), "INVALID_OFFSETS",
                "8 unclaimed bytes between lora_A and lora_B (non-contiguous data: room for a hidden payload)");
        header("header-offsets-first-not-zero", file(twoTensors("[2,2]", 8, 24, "[2,2]", 24, 40), 40),
                "INVALID_OFFSETS", "the data section starts with 8 unclaimed bytes");
        header("header-size-mismatch", file(twoTensors("[2,2]", 0, 12, "[2,2]", 12, 28), 28), "SIZE_MISMATCH",
                "F32 [2, 2] needs 16 bytes, data_offsets give 12 (dtype x shape != bytes)");
        header("header-shape-overflow", file(tensorHeader(LORA_A, "F32", "[4294967296,4294967296]", 0, 16), 16),
                "ARITHMETIC_OVERFLOW", "2^32 x 2^32 elements: the product overflows a signed 64-bit integer"
                        + " (and wraps to 0 without checked arithmetic)");
        header("header-shape-overflow-bytes", file(tensorHeader(LORA_A, "F32", "[2305843009213693952]", 0, 16), 16),
                "ARITHMETIC_OVERFLOW", "2^61 elements fit in 64 bits, their 2^63 bytes (x4 for F32) do not");
        header("header-shape-dimension-beyond-int64", file(tensorHeader(LORA_A, "F32", "[18446744073709551616]", 0,
                16), 16), "ARITHMETIC_OVERFLOW", "one dimension of 2^64");
        header("header-shape-negative", file(tensorHeader(LORA_A, "F32", "[-2,-2]", 0, 16), 16), "INVALID_SHAPE",
                "negative dimensions whose product (4) would look right");
        header("header-unknown-dtype", file(tensorHeader(LORA_A, "F128", "[2,2]", 0, 64), 64), "UNKNOWN_DTYPE",
                "a dtype this version does not know");
        header("header-trailing-bytes", file(valid, 33), "TRAILING_BYTES",
                "one byte after the last tensor's data (room for a hidden payload)");
        header("header-trailing-json", file(valid + "{}", 32), "INVALID_JSON",
                "a second JSON value after the header object");
        header("header-not-an-object", file("[" + valid + "]", 32), "INVALID_JSON",
                "the header is a JSON array, not an object");
    }

    /** Two F32 tensors (q_proj lora_A then lora_B) with the given shapes and offsets. */
    private static String twoTensors(String shapeA, long beginA, long endA, String shapeB, Object beginB, Object endB) {
        return "{\"__metadata__\":{\"format\":\"pt\"}," + entry(LORA_A, "F32", shapeA, beginA, endA) + ","
                + entry(LORA_B, "F32", shapeB, beginB, endB) + "}";
    }

    /** A valid header of two F32 [2, 2] tensors, 32 data bytes. */
    static String validHeader() {
        return twoTensors("[2,2]", 0, 16, "[2,2]", 16, 32);
    }

    private static String tensorHeader(String name, String dtype, String shape, long begin, long end) {
        return "{" + entry(name, dtype, shape, begin, end) + "}";
    }

    private static String entry(String name, String dtype, String shape, Object begin, Object end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + ","
                + end + "]}";
    }

    private void header(String name, byte[] safetensors, String detail, String note) {
        add(name, Map.of("adapter_config.json", plainConfig, "adapter_model.safetensors", safetensors),
                expected("SAFETENSORS_HEADER_INVALID", detail, "validate", null, null, note));
    }

    // --- adapter_config.json ---

    private void configCases() {
        config("config-r-zero", edit("\"r\": 8,", "\"r\": 0,"), "ADAPTER_CONFIG_INVALID", "r", "r = 0 (division by zero in alpha/r)");
        config("config-r-negative", edit("\"r\": 8,", "\"r\": -8,"), "ADAPTER_CONFIG_INVALID", "r", "r = -8");
        config("config-r-2pow31", edit("\"r\": 8,", "\"r\": 2147483648,"), "ADAPTER_CONFIG_INVALID", "r",
                "r = 2^31: wraps to a negative int if narrowed unchecked");
        config("config-r-2pow64", edit("\"r\": 8,", "\"r\": 18446744073709551616,"), "ADAPTER_CONFIG_INVALID", "r",
                "r = 2^64: wraps to 0 if narrowed to 64 bits unchecked");
        config("config-r-string", edit("\"r\": 8,", "\"r\": \"8\","), "ADAPTER_CONFIG_INVALID", "r",
                "r as a string (wrong type)");
        config("config-r-fraction", edit("\"r\": 8,", "\"r\": 8.5,"), "ADAPTER_CONFIG_INVALID", "r",
                "a fractional rank");
        config("config-alpha-nan", edit("\"lora_alpha\": 16,", "\"lora_alpha\": NaN,"), "ADAPTER_CONFIG_INVALID",
                "lora_alpha", "lora_alpha NaN (Python's json writes it): every merged weight would be NaN");
        config("config-alpha-infinity", edit("\"lora_alpha\": 16,", "\"lora_alpha\": Infinity,"),
                "ADAPTER_CONFIG_INVALID", "lora_alpha", "lora_alpha Infinity");
        config("config-alpha-negative-infinity", edit("\"lora_alpha\": 16,", "\"lora_alpha\": -Infinity,"),
                "ADAPTER_CONFIG_INVALID", "lora_alpha", "lora_alpha -Infinity");
        config("config-alpha-overflow", edit("\"lora_alpha\": 16,", "\"lora_alpha\": 1e400,"),
                "ADAPTER_CONFIG_INVALID", "lora_alpha", "a finite literal that overflows a double to infinity");
        config("config-target-modules-number", editTargets("42"), "ADAPTER_CONFIG_INVALID", "target_modules",
                "target_modules as a number (wrong type)");
        config("config-target-modules-mixed-list", editTargets("[\"q_proj\", 7]"), "ADAPTER_CONFIG_INVALID",
                "target_modules", "a list holding a number next to a name");
        config("config-regex-invalid", editTargets("\"(\""), "ADAPTER_CONFIG_INVALID", "target_modules",
                "an unclosed group: not a regular expression");
        add("config-regex-catastrophic", configFiles(editTargets("\"((.+)+)+\\\\.q_proj\"")),
                expected("ADAPTER_CONFIG_INVALID", null, "validate", null, "steps",
                        "nested quantifiers: exponential backtracking on every module name that does not end in"
                                + " .q_proj; the matcher gives up after its step budget and the config is refused"));
        add("config-regex-backtracking-python", configFiles(editTargets("\"(.*a){20}$\"")),
                expected("ADAPTER_CONFIG_INVALID", null, "validate", null, "does not target",
                        "(.*a){20}$ backtracks exponentially in Python's re; java.util.regex memoises this loop, so"
                                + " it ends quickly, matches no module, and the adapter's tensors are refused as"
                                + " untargeted"));
        add("config-rank-pattern-catastrophic", configFiles(edit("\"rank_pattern\": {},",
                        "\"rank_pattern\": {\"(.*?){25}x\": 4},")),
                expected("ADAPTER_CONFIG_INVALID", null, "validate", null, "steps",
                        "a rank_pattern key that backtracks catastrophically inside PEFT's (.*\\.)?(key)$"));
        StringBuilder keys = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            keys.append(i == 0 ? "" : ", ").append("\"(.*?){5}\\\\.zz_proj").append(i).append("\": 8");
        }
        add("config-patterns-costly-together", configFiles(edit("\"rank_pattern\": {},",
                        "\"rank_pattern\": {" + keys + "},")),
                expected("ADAPTER_CONFIG_INVALID", null, "validate", null, "together",
                        "20 rank_pattern keys, each about half a match's step budget on every module name: no single"
                                + " match is refused, and without a shared budget the config was accepted after 2.5 s"
                                + " on this 14-module base (about 100 s on a 560-module 70B model, ten times that"
                                + " with 200 keys); one shared budget for the costly part of all matches of a"
                                + " validation ends it after about a second"));
        config("config-layers-pattern-invalid", edit("\"layers_pattern\": null,", "\"layers_pattern\": \"(\",",
                        "\"layers_to_transform\": null,", "\"layers_to_transform\": [0],"),
                "ADAPTER_CONFIG_INVALID", "layers_pattern",
                "a layers_pattern that is not a regular expression (was an uncaught PatternSyntaxException)");
        add("config-peft-type-unknown", configFiles(edit("\"peft_type\": \"LORA\",", "\"peft_type\": \"SUPER_LORA_9000\",")),
                expected("PEFT_TYPE_UNSUPPORTED", null, "validate", null, null, "a peft_type nobody knows"));
        config("config-peft-type-missing", edit("  \"peft_type\": \"LORA\",\n", ""), "ADAPTER_CONFIG_INVALID",
                "peft_type", "no peft_type at all");
        add("config-unknown-field", configFiles(edit("\"use_dora\": false,", "\"use_dora\": false,\n"
                        + "  \"use_quantum_lora\": true,")),
                expected("UNKNOWN_CONFIG_FIELD", "use_quantum_lora", "validate", null, null,
                        "a field this version does not know, with a non-default value"));
        config("config-not-json", bytes("r = 8\npeft_type = LORA\n"), "ADAPTER_CONFIG_INVALID", null,
                "not JSON at all");
        config("config-not-an-object", bytes("[" + new String(plainConfig, StandardCharsets.UTF_8) + "]"),
                "ADAPTER_CONFIG_INVALID", null, "a JSON array holding the config");
        config("config-duplicate-key", edit("\"r\": 8,", "\"r\": 8,\n  \"r\": 64,"), "ADAPTER_CONFIG_INVALID", null,
                "r twice: Python keeps the last, other readers the first");
        int depth = 100_000;
        config("config-deeply-nested", edit("\"revision\": null,", "\"revision\": " + "[".repeat(depth)
                + "]".repeat(depth) + ","), "ADAPTER_CONFIG_INVALID", null,
                "100,000 nested arrays in an ignored field: refused by the depth limit before any field is read");
        config("config-huge-string", edit("\"revision\": null,", "\"revision\": \"" + "x".repeat(70_000) + "\","),
                "ADAPTER_CONFIG_INVALID", null, "a 70,000-character string, above the 64 KiB string limit");
        config("config-invalid-utf8", concat(bytes("{\"x"), new byte[] {(byte) 0xff}, bytes("\": null,"),
                Arrays.copyOfRange(plainConfig, 1, plainConfig.length)), "ADAPTER_CONFIG_INVALID", null,
                "a key holding the byte 0xFF, which is not UTF-8");
    }

    /** The plain adapter's config with each (from, to) pair replaced; every from must occur exactly once. */
    private byte[] edit(String... fromTo) {
        String text = new String(plainConfig, StandardCharsets.UTF_8);
        for (int i = 0; i < fromTo.length; i += 2) {
            String from = fromTo[i];
            int at = text.indexOf(from);
            if (at < 0 || text.indexOf(from, at + 1) >= 0) {
                throw new IllegalStateException("'" + from + "' must occur exactly once in the plain adapter config");
            }
            text = text.replace(from, fromTo[i + 1]);
        }
        return bytes(text);
    }

    private byte[] editTargets(String value) {
        String text = new String(plainConfig, StandardCharsets.UTF_8);
        int start = text.indexOf("\"target_modules\": [");
        int end = text.indexOf("],", start) + 2;
        return bytes(text.substring(0, start) + "\"target_modules\": " + value + "," + text.substring(end));
    }

    private Map<String, byte[]> configFiles(byte[] config) {
        return Map.of("adapter_config.json", config, "adapter_model.safetensors", plainWeights);
    }

    private void config(String name, byte[] config, String code, String detail, String note) {
        add(name, configFiles(config), expected(code, detail, "validate", null, null, note));
    }

    // --- weights ---

    private void weightCases() throws IOException {
        add("weights-nan-lora-a", weightFiles(poke(plainWeights, "lora_A.weight", 3, Float.NaN)),
                expected("NON_FINITE_WEIGHTS", null, "merge", null, "element 3",
                        "NaN in a lora_A weight: valid headers, so validation (headers only) accepts; the merge"
                                + " reads every adapter weight before writing and refuses"));
        add("weights-inf-lora-b", weightFiles(poke(plainWeights, "lora_B.weight", 7, Float.POSITIVE_INFINITY)),
                expected("NON_FINITE_WEIGHTS", null, "merge", null, "element 7", "+Inf in a lora_B weight"));
        Path dora = fixtures.resolve("cases/llama-fp32-dora/adapter");
        add("weights-nan-dora-magnitude", Map.of(
                        "adapter_config.json", Files.readAllBytes(dora.resolve("adapter_config.json")),
                        "adapter_model.safetensors", poke(Files.readAllBytes(dora.resolve("adapter_model.safetensors")),
                                "lora_magnitude_vector", 1, Float.NaN)),
                expected("NON_FINITE_WEIGHTS", null, "merge", "llama-fp32-dora", "element 1",
                        "NaN in a DoRA magnitude vector (merged onto the DoRA fixture's own base)"));
        add("weights-pickle-only", Map.of("adapter_config.json", plainConfig,
                        // An empty dict, pickle protocol 2: never opened, let alone unpickled.
                        "adapter_model.bin", new byte[] {(byte) 0x80, 2, '}', 'q', 0, '.'}),
                expected("PICKLE_WEIGHTS_REFUSED", null, "validate", null, null,
                        "only adapter_model.bin (pickle runs code when loaded); it is never opened"));
    }

    // --- FP8 block-scaled bases: the case's own base/, the llama-fp8-block fixture with one thing broken ---

    private void quantizedBaseCases() throws IOException {
        Path fp8 = fixtures.resolve("fp8/cases/llama-fp8-block");
        Map<String, byte[]> adapter = Map.of(
                "adapter_config.json", Files.readAllBytes(fp8.resolve("adapter/adapter_config.json")),
                "adapter_model.safetensors", Files.readAllBytes(fp8.resolve("adapter/adapter_model.safetensors")));
        byte[] config = Files.readAllBytes(fp8.resolve("base/config.json"));
        byte[] weights = Files.readAllBytes(fp8.resolve("base/model.safetensors"));
        String scale = "model.layers.0.self_attn.q_proj.weight_scale_inv";
        addWithBase("base-fp8-scale-grid-mismatch", adapter, baseFiles(config, rewriteHeader(weights,
                        h -> ((ObjectNode) h.get(scale)).putArray("shape").add(1).add(4))),
                expected("TENSOR_SHAPE_MISMATCH", "SCALE_GRID", "validate", null, "blocks of [16, 16]",
                        "q_proj's scale grid is [1, 4] (same bytes) where a [32, 32] weight in [16, 16] blocks needs [2, 2]"));
        addWithBase("base-fp8-scale-missing", adapter, baseFiles(config, rewriteHeader(weights,
                        h -> h.set(scale.replace("_scale_inv", "_scale"), h.remove(scale)))),
                expected("BASE_QUANTIZED", "SCALE_MISSING", "validate", null, scale,
                        "q_proj.weight is F8_E4M3 but its scale is stored under another name: a weight listed as"
                                + " quantized without its scale"));
        addWithBase("base-fp8-scale-fmt-ue8m0", adapter, baseFiles(editJson(config,
                        c -> ((ObjectNode) c.get("quantization_config")).put("scale_fmt", "ue8m0")), weights),
                expected("BASE_QUANTIZED", "SCALE_FORMAT", "validate", null, "ue8m0",
                        "quantization_config.scale_fmt ue8m0 (power-of-two scales), a scale format that is refused"));
        addWithBase("base-fp8-weight-e5m2", adapter, baseFiles(config, rewriteHeader(weights,
                        h -> ((ObjectNode) h.get("model.layers.1.mlp.up_proj.weight")).put("dtype", "F8_E5M2"))),
                expected("BASE_QUANTIZED", "FP8_E5M2", "validate", null, "F8_E5M2",
                        "an untouched weight stored as F8_E5M2: the format is recognised and refused, not copied as e4m3"));
        addWithBase("base-fp8-scale-not-f32", adapter, baseFiles(config, rewriteHeader(weights,
                        h -> ((ObjectNode) h.get(scale)).put("dtype", "I32"))),
                expected("BASE_QUANTIZED", "SCALE_FORMAT", "validate", null, "I32",
                        "q_proj's scale grid stored as I32 (same bytes): only F32 block scales are read"));
        addWithBase("base-fp8-scale-nan", adapter, baseFiles(config, poke(weights, "q_proj.weight_scale_inv", 1,
                        Float.NaN)), expected("BASE_QUANTIZED", "INVALID_SCALE", "merge", null, "element 1",
                        "NaN in the scale grid of a weight the adapter changes: valid headers, found when the merge"
                                + " reads the scales, with the tensor named"));
        addWithBase("base-fp8-scale-infinite", adapter, baseFiles(config, poke(weights, "q_proj.weight_scale_inv", 2,
                        Float.POSITIVE_INFINITY)), expected("BASE_QUANTIZED", "INVALID_SCALE", "merge", null,
                        "element 2", "+Inf in the scale grid of a merged weight"));
        addWithBase("base-fp8-scale-negative", adapter, baseFiles(config, poke(weights, "q_proj.weight_scale_inv", 3,
                        -0.01f)), expected("BASE_QUANTIZED", "INVALID_SCALE", "merge", null, "element 3",
                        "a negative block scale: transformers never writes one (scale_inv = amax / 448)"));
    }

    private static Map<String, byte[]> baseFiles(byte[] config, byte[] weights) {
        return Map.of("config.json", config, "model.safetensors", weights);
    }

    private static byte[] editJson(byte[] json, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode node = (ObjectNode) JSON.readTree(json);
        edit.accept(node);
        return (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** A copy of a safetensors file with its header edited (padded with spaces to 8 bytes) and the same data. */
    private static byte[] rewriteHeader(byte[] safetensors, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        long n = ByteBuffer.wrap(safetensors).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        ObjectNode header = (ObjectNode) JSON.readTree(Arrays.copyOfRange(safetensors, 8, (int) (8 + n)));
        edit.accept(header);
        String json = JSON.writeValueAsString(header);
        byte[] h = (json + " ".repeat((8 - json.length() % 8) % 8)).getBytes(StandardCharsets.UTF_8);
        return concat(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array(), h,
                Arrays.copyOfRange(safetensors, (int) (8 + n), safetensors.length));
    }

    private Map<String, byte[]> weightFiles(byte[] weights) {
        return Map.of("adapter_config.json", plainConfig, "adapter_model.safetensors", weights);
    }

    /** A copy of a safetensors file with one F32 element of the first tensor whose name ends in suffix set. */
    private static byte[] poke(byte[] safetensors, String suffix, int element, float value) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(safetensors.clone()).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong(0);
        ObjectNode header = (ObjectNode) JSON.readTree(Arrays.copyOfRange(safetensors, 8, (int) (8 + n)));
        var names = new ArrayList<String>();
        header.fieldNames().forEachRemaining(names::add);
        String name = names.stream().filter(s -> s.endsWith(suffix)).sorted().findFirst().orElseThrow();
        if (!header.get(name).get("dtype").asText().equals("F32")) {
            throw new IllegalStateException(name + " is not F32");
        }
        long begin = header.get(name).get("data_offsets").get(0).asLong();
        b.putFloat((int) (8 + n + begin + 4L * element), value);
        return b.array();
    }

    // --- Jazzer seeds ---

    private void seeds() throws IOException {
        Map<String, byte[]> headerSeeds = new TreeMap<>();
        Map<String, byte[]> configSeeds = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : out.entrySet()) {
            String[] parts = e.getKey().split("/");
            if (parts.length != 5 || !parts[3].equals("adapter")) {
                continue;
            }
            String name = parts[2];
            if (parts[4].equals("adapter_model.safetensors") && name.startsWith("header-")) {
                headerSeeds.put(name + ".safetensors", e.getValue());
            } else if (parts[4].equals("adapter_config.json") && name.startsWith("config-")) {
                configSeeds.put(name + ".json", e.getValue());
            }
        }
        headerSeeds.put("valid-two-tensors.safetensors", file(validHeader(), 32));
        headerSeeds.put("valid-empty.safetensors", file("{}", 0));
        headerSeeds.put("valid-metadata-only.safetensors", file("{\"__metadata__\":{\"format\":\"pt\"}}", 0));
        headerSeeds.put("valid-scalar-and-empty.safetensors", file("{\"s\":{\"dtype\":\"I64\",\"shape\":[],"
                + "\"data_offsets\":[0,8]},\"e\":{\"dtype\":\"BF16\",\"shape\":[0,4],\"data_offsets\":[8,8]}}", 8));
        headerSeeds.put("valid-llama-lora.safetensors", plainWeights);
        headerSeeds.put("valid-llama-dora.safetensors",
                Files.readAllBytes(fixtures.resolve("cases/llama-fp32-dora/adapter/adapter_model.safetensors")));
        List<String> cases = new ArrayList<>();
        try (var s = Files.list(fixtures.resolve("cases"))) {
            s.filter(p -> Files.isRegularFile(p.resolve("adapter/adapter_config.json"))).forEach(p -> cases.add(
                    p.getFileName().toString()));
        }
        cases.sort(null);
        for (String c : cases) {
            configSeeds.put("valid-" + c + ".json",
                    Files.readAllBytes(fixtures.resolve("cases").resolve(c).resolve("adapter/adapter_config.json")));
        }
        headerSeeds.forEach((k, v) -> out.put(HEADER_SEEDS + "/" + k, v));
        configSeeds.forEach((k, v) -> out.put(CONFIG_SEEDS + "/" + k, v));
    }

    // --- helpers ---

    /** A case with its own {@code base/} directory. */
    private void addWithBase(String name, Map<String, byte[]> adapterFiles, Map<String, byte[]> baseFiles,
            Map<String, Object> expected) {
        baseFiles.forEach((file, content) -> out.put(DIR + "/" + name + "/base/" + file, content));
        add(name, adapterFiles, expected);
    }

    private void add(String name, Map<String, byte[]> adapterFiles, Map<String, Object> expected) {
        String dir = DIR + "/" + name;
        if (out.containsKey(dir + "/expected.json")) {
            throw new IllegalStateException("case " + name + " twice");
        }
        adapterFiles.forEach((file, content) -> out.put(dir + "/adapter/" + file, content));
        try {
            DefaultPrettyPrinter pretty = new DefaultPrettyPrinter().withObjectIndenter(new DefaultIndenter("  ", "\n"));
            out.put(dir + "/expected.json", (JSON.writer(pretty).writeValueAsString(expected) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, Object> expected(String code, String detail, String rejectedBy, String base,
            String messageContains, String note) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("code", code);
        if (detail != null) {
            m.put("detail", detail);
        }
        m.put("rejectedBy", rejectedBy);
        if (base != null) {
            m.put("base", base);
        }
        if (messageContains != null) {
            m.put("messageContains", messageContains);
        }
        m.put("note", note);
        return m;
    }

    static byte[] file(String header, int dataBytes) {
        return file(bytes(header), dataBytes);
    }

    static byte[] file(byte[] header, int dataBytes) {
        return withLength(header.length, header, dataBytes);
    }

    /** 8-byte little-endian length n, then the header bytes, then dataBytes bytes counting 0, 1, 2, ... */
    static byte[] withLength(long n, byte[] header, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(n).put(header);
        for (int i = 0; i < dataBytes; i++) {
            b.put((byte) i);
        }
        return b.array();
    }

    /** The UTF-8 of text with raw bytes inserted after the first occurrence of marker. */
    private static byte[] insertAfter(String text, String marker, int... raw) {
        int at = text.indexOf(marker) + marker.length();
        byte[] bad = new byte[raw.length];
        for (int i = 0; i < raw.length; i++) {
            bad[i] = (byte) raw[i];
        }
        return concat(bytes(text.substring(0, at)), bad, bytes(text.substring(at)));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }
}
