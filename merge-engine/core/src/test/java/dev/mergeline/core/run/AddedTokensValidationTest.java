package dev.mergeline.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.safetensors.HeaderLimits;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.SafetensorsHeader;
import dev.mergeline.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Header-only validation accepts adapters trained with added tokens, whichever reader produced
 * its inputs: {@link LocalInputs} (the CLI, the worker) and the ranged reads of the pipeline's
 * functions (the 8-byte prefix, then exactly the header, as {@code RemoteCheckpoints} reads them
 * from S3). Both plans give every tensor PEFT's shape and the merged config PEFT's {@code vocab_size}.
 */
class AddedTokensValidationTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama-added-tokens-untied", "llama-added-tokens-tied", "llama-added-tokens-tied-embed-only",
            "llama-trainable-tokens", "llama-trainable-tokens-grown", "llama-trainable-tokens-grown-tied"})
    void validationAcceptsAddedTokensThroughBothReaders(String caseName) throws Exception {
        Path caseDir = PeftFixtures.caseDir(caseName);
        MergePlan local;
        try (LocalInputs in = LocalInputs.open(caseDir.resolve("base"), caseDir.resolve("adapter"))) {
            local = new Validator().validate(in.inputs(), MergeOptions.defaults());
        }
        MergePlan ranged = new Validator().validate(rangedInputs(caseDir), MergeOptions.defaults());
        assertEquals(local.tensors(), ranged.tensors());
        assertEquals(local.outputConfig(), ranged.outputConfig());

        JsonNode expectedConfig = JSON.readTree(caseDir.resolve("expected/config.json").toFile());
        long vocab = expectedConfig.path("vocab_size").asLong();
        assertEquals(vocab, ranged.outputConfig().path("vocab_size").asLong());
        assertEquals(vocab > 128, ranged.vocabularyGrowth().isPresent(), "growth recorded iff the vocabulary grew");
        ranged.vocabularyGrowth().ifPresent(g -> assertEquals(vocab, g.rows()));
        Map<String, List<Long>> expectedShapes = new LinkedHashMap<>();
        try (SafetensorsFile saved = SafetensorsFile.open(caseDir.resolve("expected/model.safetensors"))) {
            saved.header().tensors().forEach(t -> expectedShapes.put(t.name(), t.shape()));
        }
        Map<String, List<Long>> plannedShapes = new LinkedHashMap<>();
        ranged.tensors().forEach(t -> plannedShapes.put(t.name(), t.shape()));
        assertEquals(expectedShapes, plannedShapes, "planned tensors are save_pretrained's, with its shapes");
        assertTrue(ranged.tensors().stream().map(PlannedTensor::name).anyMatch(n -> n.contains("embed_tokens")));
    }

    /** What the functions read from S3: two configs, and each header by a ranged read. */
    private static MergeInputs rangedInputs(Path caseDir) throws IOException {
        InputLimits limits = InputLimits.defaults();
        List<TensorInfo> baseTensors = new ArrayList<>();
        try (var files = Files.list(caseDir.resolve("base"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList()) {
                baseTensors.addAll(rangedHeader(f, limits.baseHeader()).tensors());
            }
        }
        return new MergeInputs(Files.readAllBytes(caseDir.resolve("adapter/adapter_config.json")),
                rangedHeader(caseDir.resolve("adapter/adapter_model.safetensors"), limits.adapterHeader()),
                Files.readAllBytes(caseDir.resolve("base/config.json")), baseTensors);
    }

    private static SafetensorsHeader rangedHeader(Path file, HeaderLimits limits) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long length = SafetensorsHeader.parseHeaderLength(ByteBuffer.wrap(Arrays.copyOf(bytes, 8)), bytes.length,
                limits.maxHeaderBytes());
        return SafetensorsHeader.parse(Arrays.copyOfRange(bytes, 8, (int) (8 + length)), bytes.length,
                limits.maxTensors());
    }
}
