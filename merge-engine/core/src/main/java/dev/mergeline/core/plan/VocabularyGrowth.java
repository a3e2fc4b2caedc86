package dev.mergeline.core.plan;

/**
 * A merge whose embeddings grow because the adapter was trained after
 * {@code resize_token_embeddings} (added tokens).
 *
 * @param embedding the input embedding weight, e.g. {@code model.embed_tokens.weight}
 * @param baseRows its rows in the base
 * @param rows its rows in the merged model (the new {@code vocab_size})
 */
public record VocabularyGrowth(String embedding, long baseRows, long rows) {}
