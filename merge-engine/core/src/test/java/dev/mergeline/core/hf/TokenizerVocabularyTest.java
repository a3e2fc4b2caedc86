package dev.mergeline.core.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The id count of a tokenizer.json: highest id of model.vocab and added_tokens, plus one. */
class TokenizerVocabularyTest {

    private static OptionalLong size(String json) throws IOException {
        return TokenizerVocabulary.size(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void wordLevelOrBpeVocabularyPlusAddedTokens() throws IOException {
        assertEquals(OptionalLong.of(6), size("""
                {"version": "1.0", "added_tokens": [{"id": 0, "content": "<pad>", "special": true},
                  {"id": 5, "content": "<|im_end|>", "special": true}],
                 "normalizer": null, "model": {"type": "BPE", "dropout": null, "vocab": {"a": 0, "b": 1, "c": 2},
                  "merges": [["a", "b"]]}}"""));
    }

    @Test
    void addedTokensInsideTheVocabularyAddNothing() throws IOException {
        assertEquals(OptionalLong.of(3), size("""
                {"added_tokens": [{"id": 1, "content": "b"}], "model": {"vocab": {"a": 0, "b": 1, "c": 2}}}"""));
    }

    @Test
    void unigramVocabularyIsAListWhoseIndexIsTheId() throws IOException {
        assertEquals(OptionalLong.of(4), size("""
                {"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.5], ["b", -2.0],
                  ["c", -3.0]]}, "added_tokens": [{"id": 2, "content": "b"}]}"""));
    }

    @Test
    void nothingToCountIsEmpty() throws IOException {
        assertEquals(OptionalLong.empty(), size("{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\"}}"));
    }

    @Test
    void notAnObjectIsAnError() {
        assertThrows(IOException.class, () -> size("[1, 2]"));
    }
}
