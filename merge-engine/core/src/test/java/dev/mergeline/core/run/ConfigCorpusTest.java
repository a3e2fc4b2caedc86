package dev.mergeline.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.testing.ConfigCorpus;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.RejectedException;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every config shape of the corpus either merges to exactly what PEFT 0.21 merged, recording the
 * defaults PEFT filled in, or is refused with the reason PEFT-equivalent behaviour requires.
 */
class ConfigCorpusTest {

    static List<ConfigCorpus> merged() {
        return ConfigCorpus.all().stream().filter(ConfigCorpus::merges).toList();
    }

    static List<ConfigCorpus> refused() {
        return ConfigCorpus.all().stream().filter(c -> !c.merges()).toList();
    }

    @Test
    void corpusCoversTheShapesOfTheWild() {
        TreeSet<String> shapes = ConfigCorpus.all().stream().map(c -> c.record().path("shape").asText())
                .collect(Collectors.toCollection(TreeSet::new));
        for (String shape : List.of("alpaca-lora 2023", "minimal", "target_modules regex", "target_modules all-linear",
                "PEFT 0.6", "PEFT 0.21", "Unsloth", "Axolotl", "TRL")) {
            assertTrue(shapes.contains(shape), "corpus lacks " + shape + ": " + shapes);
        }
        assertFalse(refused().isEmpty());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("merged")
    void mergeEqualsPeftAndRecordsDefaults(ConfigCorpus c, @TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("merged");
        Manifest manifest;
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            manifest = new OfflineMerger(kernel).merge(c.base(), c.adapter(), out, MergeOptions.defaults());
        }
        PeftFixtures.assertMatchesPeft(c.name(), c.base(), c.expected(), out);
        assertTrue(manifest.counts().merged() > 0, "the merge changed nothing: " + manifest.counts());
        assertEquals(c.absentOrNullFields(), new TreeSet<>(manifest.adapter().configDefaults().keySet()),
                "recorded defaults");
        Manifest written = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
                .readValue(out.resolve(Manifest.FILE_NAME).toFile(), Manifest.class);
        assertEquals(manifest.adapter().configDefaults(), written.adapter().configDefaults(),
                "MANIFEST.json reads back as the worker reads it");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void refusedWithThePeftEquivalentReason(ConfigCorpus c) {
        RejectedException e = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(c.base(), c.adapter(), MergeOptions.defaults()));
        List<Reason> matching = e.reasons().stream().filter(r -> r.code().name().equals(c.refusalCode())
                && r.message().contains(c.messageContains())).toList();
        assertFalse(matching.isEmpty(), c.refusalCode() + " containing '" + c.messageContains() + "' in " + e.reasons());
        if (!c.modulesPeftIgnored().isEmpty()) {
            assertEquals(c.modulesPeftIgnored(), matching.stream().map(Reason::tensor)
                    .collect(Collectors.toCollection(TreeSet::new)), "the refusal names exactly the modules PEFT drops");
            assertEquals(e.reasons().size(), matching.size(), "nothing else is wrong: " + e.reasons());
        }
    }

    /** The case: no target_modules, weights for q/k/v/o on llama; PEFT merges q/v and drops k/o. */
    @Test
    void defaultTargetsRefuseWeightsPeftWouldDrop() {
        ConfigCorpus c = ConfigCorpus.of("minimal-qkvo");
        RejectedException e = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(c.base(), c.adapter(), MergeOptions.defaults()));
        assertEquals(List.of("model.layers.0.self_attn.k_proj", "model.layers.0.self_attn.o_proj",
                "model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.o_proj"),
                e.reasons().stream().map(Reason::tensor).sorted().toList());
        String message = e.reasons().get(0).message();
        assertTrue(message.contains("PEFT would ignore these weights; set target_modules to include them"), message);
        assertTrue(message.contains("TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING['llama']"), message);
    }
}
