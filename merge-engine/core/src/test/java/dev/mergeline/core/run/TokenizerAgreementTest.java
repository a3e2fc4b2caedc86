package dev.mergeline.core.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A merge that grows the vocabulary 128 → 130 (fixture llama-added-tokens-untied) needs a
 * tokenizer.json with 129..130 ids: the adapter's, else the base's.
 */
class TokenizerAgreementTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    private Path base;
    private Path adapter;

    @BeforeEach
    void copyCase() throws IOException {
        Path caseDir = PeftFixtures.caseDir("llama-added-tokens-untied");
        base = PeftFixtures.copyDir(caseDir.resolve("base"), tmp.resolve("base"));
        adapter = PeftFixtures.copyDir(caseDir.resolve("adapter"), tmp.resolve("adapter"));
    }

    @Test
    void theAdaptersTokenizerWithTheAddedTokensIsMergedIntoTheOutput() throws Exception {
        Path out = tmp.resolve("out");
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            new OfflineMerger(kernel).merge(base, adapter, out, MergeOptions.defaults());
        }
        assertArrayEquals(Files.readAllBytes(adapter.resolve("tokenizer.json")), Files.readAllBytes(out.resolve("tokenizer.json")));
        assertEquals(130, JSON.readTree(out.resolve("config.json").toFile()).path("vocab_size").asLong());
    }

    @Test
    void aTokenizerWithoutTheAddedTokensIsRefused() throws Exception {
        writeTokenizer(adapter, 128);
        Reason r = refusal();
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertEquals("model.embed_tokens.weight", r.tensor());
        assertTrue(r.message().contains("the adapter's tokenizer.json defines only 128 token ids"), r.message());
        assertEquals("129..130 token ids", r.expected());
        assertEquals("128 token ids", r.actual());
    }

    @Test
    void aTokenizerWithIdsBeyondTheEmbeddingIsRefused() throws Exception {
        writeTokenizer(adapter, 131);
        Reason r = refusal();
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertTrue(r.message().contains("defines ids up to 130, beyond the merged embedding's 130 rows"), r.message());
        assertEquals("131 token ids", r.actual());
    }

    @Test
    void embeddingsPaddedBeyondTheTokenizerAreAccepted() throws Exception {
        writeTokenizer(adapter, 129); // resize_token_embeddings(129, pad_to_multiple_of=10) gives 130 rows
        assertEquals(130, validate().vocabularyGrowth().orElseThrow().rows());
    }

    @Test
    void withoutAnAdapterTokenizerTheBasesIsChecked() throws Exception {
        Files.delete(adapter.resolve("tokenizer.json"));
        writeTokenizer(base, 128);
        Reason r = refusal();
        assertTrue(r.message().contains("the base's tokenizer.json (the adapter directory has none) defines only 128"),
                r.message());
    }

    @Test
    void withoutAnyTokenizerJsonThereIsNothingToCheck() throws Exception {
        Files.delete(adapter.resolve("tokenizer.json"));
        assertFalse(Files.exists(base.resolve("tokenizer.json")));
        assertTrue(validate().vocabularyGrowth().isPresent());
    }

    private dev.mergeline.core.plan.MergePlan validate() throws Exception {
        return new OfflineMerger(new ReferenceMergeKernel()).validate(base, adapter, MergeOptions.defaults());
    }

    private Reason refusal() throws Exception {
        RejectedException e = assertThrows(RejectedException.class, this::validate);
        Path out = tmp.resolve("refused");
        RejectedException m = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .merge(base, adapter, out, MergeOptions.defaults()));
        assertEquals(e.reasons(), m.reasons(), "merge refuses as validation does");
        assertFalse(Files.exists(out.resolve("model.safetensors")));
        return e.reasons().get(0);
    }

    /** A tokenizer.json with ids 0..ids-1: a WordLevel vocabulary of ids-2 tokens and two added tokens. */
    private static void writeTokenizer(Path dir, int ids) throws IOException {
        ObjectNode t = JSON.createObjectNode();
        ObjectNode vocab = t.putObject("model").put("type", "WordLevel").putObject("vocab");
        for (int i = 0; i < ids - 2; i++) {
            vocab.put("tok" + i, i);
        }
        ArrayNode added = t.putArray("added_tokens");
        added.addObject().put("id", ids - 2).put("content", "<|im_start|>").put("special", true);
        added.addObject().put("id", ids - 1).put("content", "<|im_end|>").put("special", true);
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), t);
    }
}
