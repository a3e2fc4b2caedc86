package dev.mergeline.core.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.run.LocalInputs;
import dev.mergeline.core.run.MergeInputs;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.Validator;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.SafetensorsHeader;
import dev.mergeline.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Plans for adapters trained with added tokens, from the headers of the PEFT fixtures with one
 * thing changed: what PEFT cannot reproduce (rows {@code resize_token_embeddings} draws at random)
 * is refused with a message that says how to save the adapter; shrinking or other columns stay
 * shape mismatches; {@code trainable_token_indices} that do not fit are refused.
 */
class AddedTokensPlanTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String EMBED = "model.embed_tokens.weight";

    @Test
    void grownModulesToSaveEmbeddingsTakeTheAdaptersShape() throws Exception {
        MergePlan plan = plan(inputs("llama-added-tokens-untied"));
        assertEquals(List.of(130L, 32L), find(plan, EMBED).shape());
        assertEquals(List.of(130L, 32L), find(plan, "lm_head.weight").shape());
        assertEquals(TensorSource.adapter("base_model.model.model.embed_tokens.modules_to_save.weight"),
                find(plan, EMBED).op().source(), "the modules_to_save copy wins over the plain and original copies");
        assertEquals(130, plan.outputConfig().path("vocab_size").asLong());
        assertEquals(new VocabularyGrowth(EMBED, 128, 130), plan.vocabularyGrowth().orElseThrow());
        assertEquals(2, plan.counts().replaced());
    }

    @Test
    void loraOnAGrownEmbeddingWithoutItsSavedWeightIsRefused() throws Exception {
        Reason r = loraOnGrown("embed_tokens", "lm_head", tensor("base_model.model.model.embed_tokens.lora_embedding_A", 8, 130),
                tensor("base_model.model.model.embed_tokens.lora_embedding_B", 32, 8));
        assertEquals("base_model.model.model.embed_tokens.lora_embedding_A", r.tensor());
        assertTrue(r.message().contains("resize_token_embeddings drew at random"), r.message());
        assertTrue(r.message().contains("modules_to_save") && r.message().contains("trainable_token_indices"), r.message());
        assertEquals("128 rows", r.expected());
        assertEquals("130 rows", r.actual());
    }

    @Test
    void loraOnAGrownOutputEmbeddingIsRefusedToo() throws Exception {
        Reason r = loraOnGrown("lm_head", "embed_tokens", tensor("base_model.model.lm_head.lora_A.weight", 8, 32),
                tensor("base_model.model.lm_head.lora_B.weight", 130, 8));
        assertEquals("base_model.model.lm_head.lora_B.weight", r.tensor());
        assertTrue(r.message().contains("resize_token_embeddings"), r.message());
    }

    /** LoRA instead of a saved copy on {@code module} (grown to 130 rows); {@code saved} stays a modules_to_save copy. */
    private static Reason loraOnGrown(String module, String saved, TensorInfo a, TensorInfo b) throws Exception {
        MergeInputs in = inputs("llama-added-tokens-untied");
        ObjectNode config = config(in);
        config.putArray("target_modules").add("q_proj").add("v_proj").add(module);
        config.putArray("modules_to_save").add(saved);
        List<TensorInfo> adapter = without(in, n -> n.contains(module));
        adapter.add(a);
        adapter.add(b);
        Reason r = refusal(with(in, config, adapter));
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        return r;
    }

    @Test
    void aGrownInputWhoseOutputTheAdapterDidNotSaveIsRefused() throws Exception {
        MergeInputs in = inputs("llama-added-tokens-untied");
        ObjectNode config = config(in);
        config.putArray("modules_to_save").add("embed_tokens");
        Reason r = refusal(with(in, config, without(in, n -> n.contains("lm_head"))));
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertEquals("lm_head.weight", r.tensor());
        assertTrue(r.message().contains("rows 128..129 would be what resize_token_embeddings drew at random"), r.message());
    }

    @Test
    void aTiedBaseWhoseOutputTheAdapterDidNotSaveIsRefused() throws Exception {
        MergeInputs in = inputs("llama-added-tokens-tied-embed-only");
        Reason r = refusal(with(in, config(in), without(in, n -> n.equals("base_model.model.lm_head.weight"))));
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertEquals("lm_head.weight", r.tensor());
    }

    @Test
    void shrinkingStaysAShapeMismatch() throws Exception {
        Reason r = refusal(resized("llama-added-tokens-untied", "embed_tokens", 120, 32));
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertTrue(r.message().contains("does not have the shape of " + EMBED), r.message());
    }

    @Test
    void aGrownReplacementWithOtherColumnsStaysAShapeMismatch() throws Exception {
        Reason r = refusal(resized("llama-added-tokens-untied", "embed_tokens", 130, 16));
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertTrue(r.message().contains("does not have the shape of " + EMBED), r.message());
    }

    @Test
    void embeddingsGrownToDifferentSizesAreRefused() throws Exception {
        Reason r = refusal(resized("llama-added-tokens-untied", "lm_head", 131, 32));
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertEquals(EMBED, r.tensor());
        assertEquals("131 rows", r.expected());
        assertEquals("130 rows", r.actual());
    }

    @Test
    void trainableTokenRowsReplaceTheirRowsAndKeepTheTie() throws Exception {
        MergePlan plan = plan(inputs("llama-trainable-tokens"));
        TensorOp.ReplaceRows op = assertInstanceOf(TensorOp.ReplaceRows.class, find(plan, EMBED).op());
        assertEquals(List.of(3, 5, 7), op.indices());
        assertEquals(TensorSource.base(EMBED), op.source());
        assertTrue(plan.outputConfig().path("tie_word_embeddings").asBoolean());
        assertTrue(plan.vocabularyGrowth().isEmpty());
    }

    @Test
    void grownTrainableTokensApplyToTheSavedResizedWeight() throws Exception {
        MergePlan plan = plan(inputs("llama-trainable-tokens-grown"));
        TensorOp.ReplaceRows embed = assertInstanceOf(TensorOp.ReplaceRows.class, find(plan, EMBED).op());
        assertEquals(List.of(1, 128, 129), embed.indices(), "dict form: the indices named for embed_tokens");
        assertEquals(TensorSource.adapter("base_model.model.model.embed_tokens.token_adapter.base_layer.weight"),
                embed.source());
        TensorOp.ReplaceRows head = assertInstanceOf(TensorOp.ReplaceRows.class, find(plan, "lm_head.weight").op());
        assertEquals(List.of(128, 129), head.indices());
        assertFalse(plan.outputConfig().path("tie_word_embeddings").asBoolean(true));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "[3, 5, 128] | names token 128 beyond the embedding's 128 rows",
            "[3, 5, 5]   | names token 5 twice",
            "[3, -5, 7]  | holds -5, which is not a token index"})
    void indicesThatDoNotFitAreRefused(String indices, String message) throws Exception {
        Reason r = refusal(withIndices("llama-trainable-tokens", indices));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, r.code());
        assertTrue(r.message().contains(message), r.message());
    }

    @Test
    void rowsThatDoNotMatchTheIndicesAreRefused() throws Exception {
        Reason r = refusal(withIndices("llama-trainable-tokens", "[3, 5]"));
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertEquals("[2, 32]", r.expected());
        assertEquals("[3, 32]", r.actual());
    }

    @Test
    void indicesForAModuleWithoutSavedRowsAreRefused() throws Exception {
        Reason r = refusal(withIndices("llama-trainable-tokens", "{\"embed_tokens\": [3, 5, 7], \"q_proj\": [1]}"));
        assertEquals(ReasonCode.ADAPTER_KEYS_MISSING, r.code());
        assertEquals("q_proj", r.tensor());
    }

    @Test
    void aMultimodalConfigGetsItsTextConfigVocabSize() throws Exception {
        MergeInputs in = inputs("llama-added-tokens-untied");
        ObjectNode text = (ObjectNode) JSON.readTree(in.baseConfigJson());
        ObjectNode vlm = JSON.createObjectNode();
        vlm.putArray("architectures").add("LlavaForConditionalGeneration");
        vlm.put("model_type", "llava");
        vlm.set("text_config", text);
        List<TensorInfo> base = in.baseTensors().stream().map(t -> rename(t, n -> n.startsWith("model.")
                ? "model.language_model." + n.substring("model.".length()) : n)).toList();
        List<TensorInfo> adapter = in.adapterHeader().tensors().stream().map(t -> rename(t,
                n -> n.replace("base_model.model.model.", "base_model.model.model.language_model."))).toList();
        MergePlan plan = plan(new MergeInputs(in.adapterConfigJson(), header(in, adapter), JSON.writeValueAsBytes(vlm), base));
        assertEquals(130, plan.outputConfig().at("/text_config/vocab_size").asLong());
        assertFalse(plan.outputConfig().has("vocab_size"), "transformers sets only text_config.vocab_size");
        assertEquals(List.of(130L, 32L), find(plan, "model.language_model.embed_tokens.weight").shape());
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static MergeInputs inputs(String caseName) throws Exception {
        var caseDir = PeftFixtures.caseDir(caseName);
        try (LocalInputs in = LocalInputs.open(caseDir.resolve("base"), caseDir.resolve("adapter"))) {
            return in.inputs();
        }
    }

    private static ObjectNode config(MergeInputs in) throws Exception {
        return (ObjectNode) JSON.readTree(in.adapterConfigJson());
    }

    private static MergeInputs withIndices(String caseName, String indices) throws Exception {
        MergeInputs in = inputs(caseName);
        ObjectNode config = config(in);
        config.set("trainable_token_indices", JSON.readTree(indices));
        return with(in, config, in.adapterHeader().tensors());
    }

    /** Every adapter tensor of {@code module} (all its copies) reshaped to [rows, cols]. */
    private static MergeInputs resized(String caseName, String module, long rows, long cols) throws Exception {
        MergeInputs in = inputs(caseName);
        List<TensorInfo> adapter = in.adapterHeader().tensors().stream().map(t -> t.name().contains(module)
                ? new TensorInfo(t.name(), t.dtype(), List.of(rows, cols), t.dataOffset(), rows * cols * t.dtype().byteSize())
                : t).toList();
        return with(in, config(in), adapter);
    }

    private static List<TensorInfo> without(MergeInputs in, Predicate<String> drop) {
        return new ArrayList<>(in.adapterHeader().tensors().stream().filter(t -> !drop.test(t.name())).toList());
    }

    private static TensorInfo tensor(String name, long rows, long cols) {
        return new TensorInfo(name, dev.mergeline.safetensors.DType.F32, List.of(rows, cols), 0, rows * cols * 4);
    }

    private static TensorInfo rename(TensorInfo t, UnaryOperator<String> f) {
        return new TensorInfo(f.apply(t.name()), t.dtype(), t.shape(), t.dataOffset(), t.byteLength());
    }

    private static MergeInputs with(MergeInputs in, ObjectNode config, List<TensorInfo> adapter) throws Exception {
        return new MergeInputs(JSON.writeValueAsBytes(config), header(in, adapter), in.baseConfigJson(), in.baseTensors());
    }

    private static SafetensorsHeader header(MergeInputs in, List<TensorInfo> tensors) {
        SafetensorsHeader h = in.adapterHeader();
        return new SafetensorsHeader(h.headerLength(), h.metadata(), tensors);
    }

    private static MergePlan plan(MergeInputs in) throws RejectedException {
        return new Validator().validate(in, MergeOptions.defaults());
    }

    private static Reason refusal(MergeInputs in) {
        RejectedException e = assertThrows(RejectedException.class, () -> plan(in));
        return e.reasons().get(0);
    }

    private static PlannedTensor find(MergePlan plan, String name) {
        return plan.tensors().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }
}
