package dev.mergeline.core.output;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.testing.PeftFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFilesTest {

    /** What a vision-language base directory on the Hub carries next to its weights. */
    private static final List<String> BASE_MODEL_FILES = List.of("processor_config.json", "preprocessor_config.json",
            "video_preprocessor_config.json", "chat_template.json", "chat_template.jinja", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "modeling_custom.py",
            "configuration_custom.py", "LICENSE");

    @Test
    void baseCarriesEveryNonWeightFileButItsModelCardAndConfig() {
        BASE_MODEL_FILES.forEach(f -> assertTrue(ModelFiles.carriedFromBase(f), f));
        for (String f : List.of("config.json", "model.safetensors", "model-00001-of-00002.safetensors",
                "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json",
                "consolidated.pth", "model.gguf", "README.md", ".gitattributes", "MANIFEST.json",
                "adapter_config.json", "adapter_model.safetensors")) {
            assertFalse(ModelFiles.carriedFromBase(f), f);
        }
    }

    @Test
    void adapterOverridesOnlyModelFilesNotTrainerState() {
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                "chat_template.jinja", "processor_config.json", "preprocessor_config.json",
                "video_preprocessor_config.json", "generation_config.json", "added_tokens.json")) {
            assertTrue(ModelFiles.carriedFromAdapter(f), f);
        }
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors", "trainer_state.json",
                "training_args.bin", "optimizer.pt", "README.md", "modeling_custom.py")) {
            assertFalse(ModelFiles.carriedFromAdapter(f), f);
        }
    }

    @Test
    void foreignWeightsAreNeitherDownloadedNorCarried() {
        assertTrue(ModelFiles.isForeignWeights("pytorch_model.bin"));
        assertTrue(ModelFiles.isForeignWeights("original.PTH"));
        assertFalse(ModelFiles.isForeignWeights("model.safetensors"));
        assertFalse(ModelFiles.isForeignWeights("processor_config.json"));
    }

    @Test
    void mergeCopiesBaseFilesByteForByteAdapterVersionsWinAndManifestListsThem(@TempDir Path tmp) throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        Path base = PeftFixtures.copyDir(caseDir.resolve("base"), tmp.resolve("base"));
        Path adapter = PeftFixtures.copyDir(caseDir.resolve("adapter"), tmp.resolve("adapter"));
        for (String f : BASE_MODEL_FILES) {
            Files.writeString(base.resolve(f), "base " + f + " \u00e9\n", StandardCharsets.UTF_8);
        }
        Files.writeString(base.resolve("README.md"), "base model card");
        Files.writeString(base.resolve("pytorch_model.bin"), "stale pickle");
        Files.writeString(adapter.resolve("chat_template.jinja"), "adapter template");
        Files.writeString(adapter.resolve("trainer_state.json"), "{}");
        Path out = tmp.resolve("out");

        Manifest manifest;
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            manifest = new OfflineMerger(kernel).merge(base, adapter, out, MergeOptions.defaults());
        }

        for (String f : BASE_MODEL_FILES) {
            Path source = f.equals("chat_template.jinja") ? adapter.resolve(f) : base.resolve(f);
            assertArrayEquals(Files.readAllBytes(source), Files.readAllBytes(out.resolve(f)), f);
        }
        for (String absent : List.of("README.md", "pytorch_model.bin", "trainer_state.json", "adapter_config.json")) {
            assertFalse(Files.exists(out.resolve(absent)), absent + " must not be carried");
        }
        Map<String, String> listed = manifest.output().files().stream()
                .collect(Collectors.toMap(Manifest.FileEntry::name, Manifest.FileEntry::sha256));
        for (String f : BASE_MODEL_FILES) {
            assertEquals(Hashes.sha256(out.resolve(f), Long.MAX_VALUE), listed.get(f), "manifest entry of " + f);
        }
        TreeSet<String> onDisk;
        try (Stream<Path> s = Files.list(out)) {
            onDisk = s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
        onDisk.remove(Manifest.FILE_NAME);
        assertEquals(onDisk, new TreeSet<>(listed.keySet()), "the manifest lists exactly the files written");
    }
}
