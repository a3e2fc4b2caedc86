package dev.mergeline.core.hf;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Names of the input and output embedding weights of a checkpoint, found by the naming
 * conventions of Hugging Face architectures. Used to keep tied embeddings tied, or to untie them
 * explicitly when a merge makes them differ.
 *
 * @param input input embedding weight, e.g. {@code model.embed_tokens.weight}
 * @param output output embedding weight, e.g. {@code lm_head.weight} (may be absent from a tied checkpoint)
 */
public record EmbeddingNames(String input, String output) {

    private static final List<EmbeddingNames> KNOWN = List.of(
            new EmbeddingNames("model.embed_tokens.weight", "lm_head.weight"),
            // multimodal models: the language model's embeddings (transformers 5 layout, then the older one)
            new EmbeddingNames("model.language_model.embed_tokens.weight", "lm_head.weight"),
            new EmbeddingNames("language_model.model.embed_tokens.weight", "language_model.lm_head.weight"),
            new EmbeddingNames("transformer.wte.weight", "lm_head.weight"),
            new EmbeddingNames("model.decoder.embed_tokens.weight", "lm_head.weight"),
            new EmbeddingNames("transformer.word_embeddings.weight", "lm_head.weight"),
            new EmbeddingNames("gpt_neox.embed_in.weight", "embed_out.weight"),
            new EmbeddingNames("bert.embeddings.word_embeddings.weight", "cls.predictions.decoder.weight"),
            new EmbeddingNames("embed_tokens.weight", "lm_head.weight"));

    /** The pair whose input embedding exists among {@code tensorNames}, if any. */
    public static Optional<EmbeddingNames> find(Collection<String> tensorNames) {
        return KNOWN.stream().filter(e -> tensorNames.contains(e.input())).findFirst();
    }
}
