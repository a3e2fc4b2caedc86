package dev.mergeline.core.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.testing.PeftFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A {@code fan_in_fan_out} that contradicts the layer kind changes nothing, as in PEFT 0.21: PEFT sets
 * it per layer from the layer it wraps (False for {@code nn.Linear}, True for GPT-2's {@code Conv1D})
 * and warns. With the flag flipped, PEFT's merge equals the fixture's expected output exactly
 * (checked with PEFT 0.21 on these two cases: largest difference 0.0), so Mergeline's merge must
 * still match it.
 */
class FanInFanOutTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} with fan_in_fan_out={1}")
    @CsvSource({"gpt2-conv1d, false", "llama-bf16-plain, true"})
    void aContradictingFlagIsOverruledByTheLayerKind(String caseName, boolean flag) throws Exception {
        Path caseDir = PeftFixtures.caseDir(caseName);
        Path adapter = Files.createDirectories(tmp.resolve("adapter"));
        try (Stream<Path> files = Files.list(caseDir.resolve("adapter"))) {
            for (Path f : files.toList()) {
                Files.copy(f, adapter.resolve(f.getFileName()));
            }
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(adapter.resolve("adapter_config.json").toFile());
        assertEquals(!flag, config.path("fan_in_fan_out").asBoolean(), "the fixture's own flag matches its layers");
        json.writeValue(adapter.resolve("adapter_config.json").toFile(), config.put("fan_in_fan_out", flag));

        Path out = tmp.resolve("out");
        new OfflineMerger(new ReferenceMergeKernel()).merge(caseDir.resolve("base"), adapter, out, MergeOptions.defaults());
        PeftFixtures.assertMatchesPeft(caseName, out);
    }
}
