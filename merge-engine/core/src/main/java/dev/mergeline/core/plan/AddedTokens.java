package dev.mergeline.core.plan;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.hf.EmbeddingNames;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.safetensors.TensorInfo;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Adapters trained after {@code resize_token_embeddings} grew the vocabulary. PEFT's path for them
 * is: load the base, resize it to the adapter's vocabulary, attach, merge. The rows the resize adds
 * are random, so a merge reproduces PEFT only when the adapter saved every grown embedding whole
 * ({@code modules_to_save}, or the resized weight {@code save_embedding_layers} stores beside
 * LoRA or {@code trainable_token_indices}); a grown embedding whose new rows would keep their
 * random values is refused with a message that says how to save the adapter instead.
 */
final class AddedTokens {
    static final String HOW_TO_SAVE = "save the embeddings with the adapter (modules_to_save=[\"embed_tokens\", "
            + "\"lm_head\"] or trainable_token_indices) and merge again";

    private AddedTokens() {}

    /** Whether {@code replacement} is {@code base} grown by added tokens: same columns, more rows. */
    static boolean grows(TensorInfo base, List<Long> replacement) {
        return base.rank() == 2 && replacement.size() == 2 && replacement.get(1).equals(base.shape().get(1))
                && replacement.get(0) > base.shape().get(0);
    }

    /** A LoRA factor sized for a grown vocabulary on an embedding the adapter did not save whole. */
    static Reason loraOnGrownEmbedding(String factor, String weight, long baseRows, long adapterRows) {
        return Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, factor, "LoRA factor " + factor + " was trained on "
                + weight + " with " + adapterRows + " rows (a vocabulary grown by resize_token_embeddings) but the base"
                + " has " + baseRows + " and the adapter has no saved weight with the new rows: their base values are"
                + " what resize_token_embeddings drew at random, which no merge can reproduce; " + HOW_TO_SAVE,
                baseRows + " rows", adapterRows + " rows");
    }

    /**
     * Checks that every embedding of the merged model has the grown row count, taken from the
     * adapter; returns the merged vocabulary size when it grew.
     *
     * @param planned merged tensors, before tied embeddings are resolved
     * @param tied whether the base ties its output embedding to its input embedding
     */
    static Optional<Long> check(EmbeddingNames pair, Map<String, TensorInfo> base, List<PlannedTensor> planned,
            boolean tied, List<Reason> reasons) {
        TensorInfo baseInput = base.get(pair.input());
        PlannedTensor input = find(planned, pair.input()).orElse(null);
        PlannedTensor output = find(planned, pair.output()).orElse(null);
        if (baseInput == null || input == null || baseInput.rank() != 2) {
            return Optional.empty();
        }
        long baseRows = baseInput.shape().get(0);
        long rows = Math.max(input.shape().get(0), output == null ? 0 : output.shape().get(0));
        if (rows <= baseRows) {
            return Optional.empty();
        }
        int before = reasons.size();
        requireGrown(input, baseRows, rows, reasons);
        boolean inputReplacedWhole = input.op() instanceof TensorOp.Copy && fromAdapter(input);
        if (output != null && (fromAdapter(output) || !tied || inputReplacedWhole)) {
            requireGrown(output, baseRows, rows, reasons);
        } else if (output == null && tied && inputReplacedWhole) {
            // The tied output would keep the resized shared weight, whose new rows are random.
            reasons.add(randomRows(pair.output(), baseRows, rows));
        }
        return reasons.size() == before ? Optional.of(rows) : Optional.empty();
    }

    private static void requireGrown(PlannedTensor t, long baseRows, long rows, List<Reason> reasons) {
        long actual = t.shape().get(0);
        if (actual == rows) {
            return;
        }
        if (actual == baseRows && !fromAdapter(t)) {
            reasons.add(randomRows(t.name(), baseRows, rows));
        } else {
            reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, t.name(), "the adapter grows the vocabulary"
                    + " to " + rows + " rows but its " + t.name() + " has " + actual, rows + " rows", actual + " rows"));
        }
    }

    private static Reason randomRows(String weight, long baseRows, long rows) {
        return Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, weight, "the adapter grows the vocabulary from "
                + baseRows + " to " + rows + " rows but saved no " + weight + " with the new rows: rows " + baseRows
                + ".." + (rows - 1) + " would be what resize_token_embeddings drew at random, which no merge can"
                + " reproduce; " + HOW_TO_SAVE, rows + " rows from the adapter", baseRows + " rows in the base");
    }

    /**
     * {@code vocab_size} follows the grown embeddings, where {@code resize_token_embeddings} puts
     * it: in {@code text_config} when the config has one (multimodal models), else at the top level.
     */
    static void updateConfig(ObjectNode config, long baseRows, long rows, List<String> notes) {
        ObjectNode target = config.has("text_config") && config.get("text_config").isObject()
                ? (ObjectNode) config.get("text_config") : config;
        target.put("vocab_size", rows);
        notes.add("vocabulary grown from " + baseRows + " to " + rows + " tokens (adapter trained after "
                + "resize_token_embeddings): " + (target == config ? "" : "text_config.") + "vocab_size = " + rows);
    }

    private static boolean fromAdapter(PlannedTensor t) {
        return t.op().source().origin() == TensorSource.Origin.ADAPTER;
    }

    private static Optional<PlannedTensor> find(List<PlannedTensor> tensors, String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst();
    }
}
