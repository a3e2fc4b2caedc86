package dev.mergeline.core.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.safetensors.DType;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The parts of a Hugging Face {@code config.json} that decide how a merge is done, plus the raw
 * document (written back, with the few fields a merge changes, into the merged checkpoint).
 *
 * @param raw the whole document as read
 * @param modelType {@code model_type} ("llama", "gpt2", ...), or empty string when absent
 * @param architectures {@code architectures} ("LlamaForCausalLM", ...)
 * @param tieWordEmbeddings whether input and output embeddings share one weight
 * @param dtype {@code dtype}/{@code torch_dtype}, if it names a floating type
 * @param quantized whether {@code quantization_config} is present
 */
public record ModelConfig(
        ObjectNode raw,
        String modelType,
        List<String> architectures,
        boolean tieWordEmbeddings,
        Optional<DType> dtype,
        boolean quantized) {

    /** Model types whose projections are GPT-2 style {@code Conv1D} (weights stored transposed). */
    private static final List<String> CONV1D_MODEL_TYPES = List.of("gpt2", "openai-gpt");

    public static ModelConfig parse(byte[] json, ObjectMapper mapper) throws IOException {
        JsonNode node = mapper.readTree(json);
        if (!(node instanceof ObjectNode object)) {
            throw new IOException("config.json is not a JSON object");
        }
        String modelType = object.path("model_type").asText("");
        List<String> architectures = new ArrayList<>();
        object.path("architectures").forEach(a -> architectures.add(a.asText()));
        JsonNode tie = object.get("tie_word_embeddings");
        if (tie == null && object.path("text_config").has("tie_word_embeddings")) {
            tie = object.path("text_config").get("tie_word_embeddings");
        }
        // transformers' PretrainedConfig default is true when the field is absent.
        boolean tied = tie == null || tie.isNull() ? true : tie.asBoolean(true);
        JsonNode dtypeNode = object.has("dtype") ? object.get("dtype") : object.get("torch_dtype");
        Optional<DType> dtype = dtypeNode == null || !dtypeNode.isTextual()
                ? Optional.empty()
                : DType.fromTorchName(dtypeNode.asText());
        JsonNode quant = object.get("quantization_config");
        boolean quantized = quant != null && !quant.isNull();
        return new ModelConfig(object, modelType, List.copyOf(architectures), tied, dtype, quantized);
    }

    /** True when linear projections are GPT-2 {@code Conv1D} modules, whose weight is [in, out]. */
    public boolean usesConv1D() {
        return CONV1D_MODEL_TYPES.contains(modelType);
    }

    /** The first architecture name, or "unknown". */
    public String architecture() {
        return architectures.isEmpty() ? "unknown" : architectures.get(0);
    }
}
