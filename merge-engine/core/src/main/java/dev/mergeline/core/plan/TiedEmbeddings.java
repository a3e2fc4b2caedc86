package dev.mergeline.core.plan;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.hf.EmbeddingNames;
import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Tied input/output embeddings. While the merge changes them together they stay tied, as PEFT
 * leaves them (a LoRA on the input embedding changes the one shared weight; {@code save_pretrained}
 * then writes only the input embedding). When the merge makes them differ — a replaced input
 * embedding ({@code modules_to_save}) or a replaced output embedding — both are written and
 * {@code tie_word_embeddings} is set to false, so that loading cannot silently re-tie them.
 */
final class TiedEmbeddings {
    private TiedEmbeddings() {}

    static List<PlannedTensor> apply(ModelConfig base, List<PlannedTensor> planned, ObjectNode config,
            List<String> notes) throws RejectedException {
        if (!base.tieWordEmbeddings()) {
            return planned;
        }
        List<PlannedTensor> tensors = new ArrayList<>(planned);
        Optional<EmbeddingNames> pair = EmbeddingNames.find(tensors.stream().map(PlannedTensor::name).toList());
        if (pair.isEmpty()) {
            return tensors;
        }
        PlannedTensor input = find(tensors, pair.get().input()).orElseThrow();
        PlannedTensor output = find(tensors, pair.get().output()).orElse(null);
        if (output != null && output.op() instanceof TensorOp.LowRank) {
            throw new RejectedException(Reason.about(ReasonCode.PEFT_VARIANT_UNSUPPORTED, output.name(),
                    "LoRA on the output embedding " + output.name() + " of a model with tied embeddings changes the"
                            + " shared weight in PEFT; merge with tie_word_embeddings=false instead"));
        }
        boolean inputReplaced = input.op() instanceof TensorOp.Copy && fromAdapter(input);
        boolean inputChanged = !(input.op() instanceof TensorOp.Copy) || fromAdapter(input);
        boolean diverged = output != null && fromAdapter(output);
        if (inputReplaced && output == null) {
            // The output embedding keeps the original shared weight, which the base stored under the input's name.
            tensors.add(new PlannedTensor(pair.get().output(), input.dtype(), input.shape(),
                    new TensorOp.Copy(TensorSource.base(pair.get().input()))));
            diverged = true;
        } else if (inputReplaced && output != null) {
            diverged = true;
        } else if (inputChanged && output != null && !fromAdapter(output)) {
            tensors.remove(output); // a stale stored copy: the tied output follows the merged input
            notes.add("dropped stored " + output.name() + ": tied to the merged " + input.name());
        }
        if (diverged) {
            config.put("tie_word_embeddings", false);
            if (config.has("text_config") && config.get("text_config").isObject()) {
                ((ObjectNode) config.get("text_config")).put("tie_word_embeddings", false);
            }
            notes.add("untied embeddings: " + input.name() + " and " + pair.get().output()
                    + " differ after the merge; both written, tie_word_embeddings=false");
        }
        return tensors;
    }

    private static boolean fromAdapter(PlannedTensor t) {
        return t.op().source().origin() == TensorSource.Origin.ADAPTER;
    }

    private static Optional<PlannedTensor> find(List<PlannedTensor> tensors, String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst();
    }
}
