package dev.mergeline.core.peft;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.run.InputRules;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.PatternSyntaxException;

/**
 * Parses {@code adapter_config.json} strictly: every field that changes merged weights is read
 * with PEFT's meaning, fields that select an unmergeable variant are refused, and fields this
 * version does not know are refused unless they hold their default (null, false, empty).
 * All problems are reported together.
 */
public final class AdapterConfigParser {

    /** Largest rank accepted; far above any real adapter, far below int overflow in shape arithmetic. */
    public static final int MAX_RANK = 1 << 16;

    /**
     * Fields that do not change merged weights. {@code fan_in_fan_out} is one of them for the layer
     * kinds merged here: PEFT 0.21 sets it from the layer itself when it wraps one (False for
     * {@code nn.Linear}, True for GPT-2's {@code Conv1D}; {@code tuners/lora/layer.py},
     * {@code dispatch_default}), with a warning when the config says otherwise, and transposes the
     * delta by that per-layer value; {@code MergePlanner} orients the delta by the layer kind alike.
     */
    private static final Set<String> IGNORED = Set.of(
            "auto_mapping", "inference_mode", "lora_dropout", "megatron_core", "qalora_group_size",
            "runtime_config", "revision", "fan_in_fan_out", "eva_config", "corda_config", "loftq_config");

    /** Fields naming variants whose merge differs from plain LoRA/DoRA; refused unless default. */
    private static final Set<String> UNSUPPORTED_UNLESS_DEFAULT = Set.of(
            "megatron_config", "lora_ga_config", "velora_config",
            "alora_invocation_tokens", "use_qalora", "monteclora_config", "layer_replication",
            "use_bdlora", "arrow_config", "kasa_config", "ensure_weight_tying");

    /** {@code init_lora_weights} values that leave the base weights untouched. */
    private static final Set<String> BASE_PRESERVING_INITS = Set.of("gaussian", "eva", "orthogonal");

    private static final Set<String> HANDLED = Set.of(
            "peft_type", "task_type", "base_model_name_or_path", "peft_version", "r", "lora_alpha",
            "use_rslora", "use_dora", "target_modules", "exclude_modules", "layers_to_transform",
            "layers_pattern", "rank_pattern", "alpha_pattern", "modules_to_save", "bias", "lora_bias",
            "init_lora_weights", "trainable_token_indices", "target_parameters");

    private final ObjectMapper mapper;

    public AdapterConfigParser() {
        JsonMapper m = JsonMapper.builder()
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                .build();
        m.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(16).maxStringLength(64 * 1024).maxNumberLength(64).build());
        this.mapper = m;
    }

    public AdapterConfig parse(byte[] json) throws RejectedException {
        if (json.length > InputRules.MAX_CONFIG_BYTES) {
            throw reject("adapter_config.json is " + json.length + " bytes, larger than the limit of "
                    + InputRules.MAX_CONFIG_BYTES);
        }
        checkUtf8(json);
        JsonNode root;
        try {
            root = mapper.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw reject("adapter_config.json is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw reject("adapter_config.json cannot be read: " + e.getMessage());
        }
        if (!(root instanceof ObjectNode object)) {
            throw reject("adapter_config.json is not a JSON object");
        }
        return new Fields(object).build();
    }

    /**
     * Strict UTF-8 over the whole file, before Jackson sees it: Jackson's shared field-name table
     * skips decoding a name it has seen before, so malformed bytes inside a known name would pass or
     * fail depending on what the same parser read earlier.
     */
    private static void checkUtf8(byte[] json) throws RejectedException {
        ByteBuffer in = ByteBuffer.wrap(json);
        CoderResult result = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(in, CharBuffer.allocate(json.length), true);
        if (result.isError()) {
            throw reject("adapter_config.json is not valid UTF-8: malformed byte 0x"
                    + Integer.toHexString(json[in.position()] & 0xff) + " at offset " + in.position());
        }
    }

    private static RejectedException reject(String message) {
        return new RejectedException(Reason.of(ReasonCode.ADAPTER_CONFIG_INVALID, message));
    }

    /** One parse: reads fields and collects every problem. */
    private static final class Fields {
        private final ObjectNode o;
        private final List<Reason> reasons = new ArrayList<>();

        Fields(ObjectNode o) {
            this.o = o;
        }

        AdapterConfig build() throws RejectedException {
            String peftType = text("peft_type", null);
            if (peftType == null) {
                invalid("peft_type", "peft_type is missing", "\"LORA\"", "null");
            } else if (!peftType.equals("LORA")) {
                reasons.add(Reason.mismatch(ReasonCode.PEFT_TYPE_UNSUPPORTED, null,
                        "peft_type " + peftType + " is not supported; Mergeline merges LORA adapters", "LORA", peftType));
            }
            checkUnknownAndUnsupported();
            checkInit();
            String taskType = text("task_type", null);
            int r = rank("r", o.get("r"), 8);
            double alpha = finite("lora_alpha", o.get("lora_alpha"), 8.0);
            boolean rslora = bool("use_rslora");
            boolean dora = bool("use_dora");
            boolean loraBias = bool("lora_bias");
            ModuleSelector targets = selector("target_modules", true);
            ModuleSelector excludes = selector("exclude_modules", false);
            strings("target_parameters", false); // PEFT's ParamWrapper targets; read by MergePlanner from raw()
            List<Integer> layers = layers();
            List<String> layersPattern = strings("layers_pattern", true);
            for (String p : layersPattern) {
                try {
                    AdapterConfig.layerIndexRegex(p);
                } catch (PatternSyntaxException e) {
                    invalid("layers_pattern", "layers_pattern is not a valid pattern: " + e.getDescription(), "pattern", p);
                }
            }
            Map<String, Integer> rankPattern = new LinkedHashMap<>();
            Map<String, Double> alphaPattern = new LinkedHashMap<>();
            patterns("rank_pattern", (k, v) -> rankPattern.put(k, rank("rank_pattern." + k, v, 1)));
            patterns("alpha_pattern", (k, v) -> alphaPattern.put(k, finite("alpha_pattern." + k, v, 1.0)));
            List<String> modulesToSave = new ArrayList<>(strings("modules_to_save", false));
            if ("SEQ_CLS".equals(taskType) || "TOKEN_CLS".equals(taskType)) {
                addIfAbsent(modulesToSave, "classifier");
                addIfAbsent(modulesToSave, "score");
            } else if ("QUESTION_ANS".equals(taskType)) {
                addIfAbsent(modulesToSave, "qa_outputs");
            }
            String bias = text("bias", "none");
            if (!Set.of("none", "all", "lora_only").contains(bias)) {
                invalid("bias", "bias must be none, all or lora_only", "none|all|lora_only", bias);
            }
            if (!reasons.isEmpty()) {
                throw new RejectedException(reasons);
            }
            return new AdapterConfig(o, taskType, text("base_model_name_or_path", null), text("peft_version", null),
                    r, alpha, rslora, dora, targets, excludes, layers, layersPattern, rankPattern, alphaPattern,
                    modulesToSave, bias, loraBias);
        }

        private void checkUnknownAndUnsupported() {
            for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                String name = f.getKey();
                if (HANDLED.contains(name) || IGNORED.contains(name) || isDefault(f.getValue())) {
                    continue;
                }
                if (UNSUPPORTED_UNLESS_DEFAULT.contains(name)) {
                    reasons.add(new Reason(ReasonCode.PEFT_VARIANT_UNSUPPORTED,
                            name + " is set; adapters using it cannot be merged as plain LoRA",
                            null, "null or false", f.getValue().toString(), name));
                } else {
                    reasons.add(new Reason(ReasonCode.UNKNOWN_CONFIG_FIELD,
                            "field " + name + " is not understood by this version and holds a non-default value",
                            null, "absent, null, false or empty", abbreviate(f.getValue().toString()), name));
                }
            }
        }

        private void checkInit() {
            JsonNode init = o.get("init_lora_weights");
            if (init == null || init.isNull() || init.isBoolean()) {
                return;
            }
            if (!init.isTextual()) {
                invalid("init_lora_weights", "init_lora_weights must be a boolean or a string", "boolean|string",
                        init.toString());
            } else if (!BASE_PRESERVING_INITS.contains(init.asText())) {
                reasons.add(new Reason(ReasonCode.PEFT_VARIANT_UNSUPPORTED, "init_lora_weights '" + init.asText()
                        + "' changes the base weights at initialisation (or is a variant with its own merge);"
                        + " convert the adapter to plain LoRA first", null, "true, false, gaussian, eva or orthogonal",
                        init.asText(), "init_lora_weights"));
            }
        }

        private static boolean isDefault(JsonNode v) {
            return v.isNull() || (v.isBoolean() && !v.asBoolean()) || (v.isContainerNode() && v.isEmpty())
                    || (v.isTextual() && v.asText().isEmpty());
        }

        private String text(String field, String dflt) {
            JsonNode v = o.get(field);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isTextual()) {
                invalid(field, field + " must be a string", "string", v.getNodeType().name().toLowerCase());
                return dflt;
            }
            return v.asText();
        }

        private boolean bool(String field) {
            JsonNode v = o.get(field);
            if (v == null || v.isNull()) {
                return false;
            }
            if (!v.isBoolean()) {
                invalid(field, field + " must be true or false", "boolean", v.toString());
                return false;
            }
            return v.asBoolean();
        }

        private int rank(String field, JsonNode v, int dflt) {
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 1 || v.asLong() > MAX_RANK) {
                invalid(field, field + " must be an integer between 1 and " + MAX_RANK, "1.." + MAX_RANK, v.toString());
                return dflt;
            }
            return v.asInt();
        }

        private double finite(String field, JsonNode v, double dflt) {
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isNumber() || !Double.isFinite(v.asDouble())) {
                invalid(field, field + " must be a finite number", "finite number", v.toString());
                return dflt;
            }
            return v.asDouble();
        }

        private ModuleSelector selector(String field, boolean allowAllLinear) {
            JsonNode v = o.get(field);
            if (v == null || v.isNull()) {
                return null;
            }
            if (v.isTextual()) {
                if (allowAllLinear && v.asText().equals("all-linear")) {
                    return new ModuleSelector.AllLinear();
                }
                try {
                    return new ModuleSelector.Regex(PythonRegex.compile(v.asText()));
                } catch (PatternSyntaxException e) {
                    invalid(field, field + " is not a valid regular expression: " + e.getDescription(),
                            "regular expression", v.asText());
                    return null;
                }
            }
            return new ModuleSelector.Names(strings(field, false));
        }

        private List<String> strings(String field, boolean allowSingle) {
            JsonNode v = o.get(field);
            List<String> out = new ArrayList<>();
            if (v == null || v.isNull()) {
                return out;
            }
            if (allowSingle && v.isTextual()) {
                out.add(v.asText());
                return out;
            }
            if (!v.isArray()) {
                invalid(field, field + " must be a list of strings", "list of strings", v.getNodeType().name().toLowerCase());
                return out;
            }
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    invalid(field, field + " must hold only strings", "string", e.toString());
                } else {
                    out.add(e.asText());
                }
            }
            return out;
        }

        private List<Integer> layers() {
            JsonNode v = o.get("layers_to_transform");
            if (v == null || v.isNull()) {
                return null;
            }
            List<Integer> out = new ArrayList<>();
            if (v.isInt() && v.asInt() >= 0) {
                out.add(v.asInt());
                return out;
            }
            if (v.isArray()) {
                for (JsonNode e : v) {
                    if (e.isInt() && e.asInt() >= 0) {
                        out.add(e.asInt());
                    } else {
                        invalid("layers_to_transform", "layers_to_transform must hold layer indexes", ">= 0", e.toString());
                    }
                }
                return out;
            }
            invalid("layers_to_transform", "layers_to_transform must be an index or a list of indexes",
                    "int or list", v.toString());
            return null;
        }

        private void patterns(String field, java.util.function.BiConsumer<String, JsonNode> each) {
            JsonNode v = o.get(field);
            if (v == null || v.isNull()) {
                return;
            }
            if (!v.isObject()) {
                invalid(field, field + " must be an object", "object", v.getNodeType().name().toLowerCase());
                return;
            }
            v.fields().forEachRemaining(e -> {
                try {
                    PythonRegex.compile("(.*\\.)?(" + e.getKey() + ")$");
                    each.accept(e.getKey(), e.getValue());
                } catch (PatternSyntaxException ex) {
                    invalid(field, field + " key is not a valid pattern: " + ex.getDescription(), "pattern", e.getKey());
                }
            });
        }

        private void invalid(String field, String message, String expected, String actual) {
            reasons.add(new Reason(ReasonCode.ADAPTER_CONFIG_INVALID, message, null, expected,
                    abbreviate(actual), field));
        }

        private static void addIfAbsent(List<String> list, String value) {
            if (!list.contains(value)) {
                list.add(value);
            }
        }

        private static String abbreviate(String s) {
            return s.length() <= 200 ? s : s.substring(0, 200) + "…";
        }
    }
}
