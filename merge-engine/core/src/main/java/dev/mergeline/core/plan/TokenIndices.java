package dev.mergeline.core.plan;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code trainable_token_indices} of a LoRA config (PEFT ≥ 0.15): a list of token indices for the
 * model's input embedding, or a map from module name to indices. A name matches a module when it
 * equals the module path or is a {@code .}-separated suffix of it ({@code "embed_tokens"} matches
 * {@code model.embed_tokens}), as PEFT's {@code _set_trainable} matches it.
 *
 * @param inputEmbedding the list form: indices of the input embedding, or empty
 * @param byModule the map form: module name → indices (empty for the list form)
 */
record TokenIndices(Optional<List<Integer>> inputEmbedding, Map<String, List<Integer>> byModule) {

    static final String FIELD = "trainable_token_indices";
    static final TokenIndices NONE = new TokenIndices(Optional.empty(), Map.of());

    TokenIndices {
        inputEmbedding = inputEmbedding.map(List::copyOf);
        byModule = new LinkedHashMap<>(byModule);
    }

    boolean isEmpty() {
        return inputEmbedding.isEmpty() && byModule.isEmpty();
    }

    /** Parses the field of the raw config; problems are added to {@code reasons}. */
    static TokenIndices parse(JsonNode rawConfig, List<Reason> reasons) {
        JsonNode node = rawConfig == null ? null : rawConfig.get(FIELD);
        if (node == null || node.isNull()) {
            return NONE;
        }
        if (node.isArray()) {
            List<Integer> list = indices(FIELD, node, reasons);
            return list == null ? NONE : new TokenIndices(Optional.of(list), Map.of());
        }
        if (node.isObject()) {
            Map<String, List<Integer>> map = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) node::fields) {
                List<Integer> list = indices(FIELD + "." + e.getKey(), e.getValue(), reasons);
                if (list != null) {
                    map.put(e.getKey(), list);
                }
            }
            return new TokenIndices(Optional.empty(), map);
        }
        reasons.add(Reason.mismatch(ReasonCode.ADAPTER_CONFIG_INVALID, null, FIELD + " must be a list of token "
                + "indices or a map from module name to such a list", "list or object", node.getNodeType()));
        return NONE;
    }

    /** The indices for {@code module}; {@code inputEmbedding} says whether it is the model's input embedding. */
    Optional<List<Integer>> forModule(String module, boolean isInputEmbedding) {
        if (inputEmbedding.isPresent()) {
            return isInputEmbedding ? inputEmbedding : Optional.empty();
        }
        return byModule.entrySet().stream().filter(e -> names(module, e.getKey())).map(Map.Entry::getValue).findFirst();
    }

    /** Whether the config name {@code key} designates {@code module}. */
    static boolean names(String module, String key) {
        return module.equals(key) || module.endsWith("." + key);
    }

    private static List<Integer> indices(String field, JsonNode node, List<Reason> reasons) {
        if (!node.isArray() || node.isEmpty()) {
            reasons.add(Reason.mismatch(ReasonCode.ADAPTER_CONFIG_INVALID, null, field + " must be a non-empty list "
                    + "of token indices", "non-empty list of integers", node.toString()));
            return null;
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode i : node) {
            if (!i.isIntegralNumber() || !i.canConvertToInt() || i.intValue() < 0) {
                reasons.add(Reason.mismatch(ReasonCode.ADAPTER_CONFIG_INVALID, null, field + " holds " + i
                        + ", which is not a token index", "integer >= 0", i.toString()));
                return null;
            }
            out.add(i.intValue());
        }
        return out;
    }
}
