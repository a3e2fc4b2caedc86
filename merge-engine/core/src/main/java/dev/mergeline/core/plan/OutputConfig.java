package dev.mergeline.core.plan;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.peft.AdapterConfig;
import dev.mergeline.safetensors.DType;
import java.util.List;
import java.util.Optional;
import java.util.Map;

/** The merged model's {@code config.json}: the base's, with the fields a merge changes. */
final class OutputConfig {

    private static final Map<String, String> TASK_HEADS = Map.of(
            "SEQ_CLS", "ForSequenceClassification",
            "TOKEN_CLS", "ForTokenClassification",
            "QUESTION_ANS", "ForQuestionAnswering");

    private OutputConfig() {}

    static ObjectNode build(ModelConfig base, AdapterConfig adapter, List<PlannedTensor> tensors,
            Optional<DType> outputDType, List<String> notes) {
        ObjectNode config = base.raw().deepCopy();
        outputDType.ifPresent(d -> {
            config.put(config.has("torch_dtype") && !config.has("dtype") ? "torch_dtype" : "dtype", d.torchName());
        });
        String head = adapter.taskType() == null ? null : TASK_HEADS.get(adapter.taskType());
        if (head != null && !base.architectures().isEmpty()) {
            String arch = base.architecture();
            int cut = arch.indexOf("For");
            String renamed = (cut > 0 ? arch.substring(0, cut) : arch) + head;
            if (!renamed.equals(arch)) {
                config.putArray("architectures").add(renamed);
                notes.add("architectures set to " + renamed + " for task_type " + adapter.taskType());
            }
            headRows(tensors, adapter).ifPresent(rows -> labels(config, rows));
        }
        return config;
    }

    /** Output rows of the task head (classifier/score/qa_outputs weight) — the number of labels. */
    private static java.util.Optional<Long> headRows(List<PlannedTensor> tensors, AdapterConfig adapter) {
        return tensors.stream()
                .filter(t -> t.name().endsWith(".weight") && t.shape().size() == 2)
                .filter(t -> adapter.isModuleToSave(t.name().substring(0, t.name().length() - ".weight".length())))
                .filter(t -> t.op().source().origin() == TensorSource.Origin.ADAPTER)
                .map(t -> t.shape().get(0))
                .findFirst();
    }

    private static void labels(ObjectNode config, long rows) {
        if (config.has("id2label") && config.get("id2label").size() == rows) {
            return;
        }
        ObjectNode id2label = config.putObject("id2label");
        ObjectNode label2id = config.putObject("label2id");
        for (int i = 0; i < rows; i++) {
            id2label.put(Integer.toString(i), "LABEL_" + i);
            label2id.put("LABEL_" + i, i);
        }
    }
}
