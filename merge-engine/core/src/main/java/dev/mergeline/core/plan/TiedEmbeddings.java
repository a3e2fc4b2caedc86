package dev.mergeline.core.plan;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.hf.EmbeddingNames;
import dev.mergeline.core.hf.ModelConfig;
import java.util.List;

/**
 * Tied input/output embeddings: kept tied while the merge changes them together, untied
 * explicitly (both written, {@code tie_word_embeddings=false}) when it makes them differ.
 */
final class TiedEmbeddings {
    private TiedEmbeddings() {}

    static void apply(ModelConfig base, List<PlannedTensor> tensors, ObjectNode config, List<String> notes) {
        // Filled in once PEFT's observed behaviour is pinned by the fixtures.
    }
}
