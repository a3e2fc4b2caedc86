package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.testing.PeftFixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code mergeline validate} says whether vLLM and LoRAX could serve the adapter without a merge. */
class ValidateServingReportTest {

    private static JsonNode validate(String fixtureCase) throws Exception {
        Path dir = PeftFixtures.caseDir(fixtureCase);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = new MergelineCli().run(new String[] {"validate", "--base", dir.resolve("base").toString(),
                "--adapter", dir.resolve("adapter").toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(MergelineCli.OK, status);
        return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aDoraAdapterIsNotServableByVllmAndTheReportSaysWhy() throws Exception {
        JsonNode vllm = validate("llama-bf16-dora").path("serving").path("vllm");
        assertFalse(vllm.path("servableUnmerged").asBoolean(true), vllm.toString());
        assertEquals("vLLM refuses to load it: use_dora is set; vLLM does not support DoRA",
                vllm.path("reasons").path(0).asText());
    }

    @Test
    void aPlainRank8AdapterIsServableByVllm() throws Exception {
        JsonNode serving = validate("llama-bf16-plain").path("serving");
        assertTrue(serving.path("vllm").path("servableUnmerged").asBoolean(false), serving.toString());
        assertTrue(serving.path("lorax").path("servableUnmerged").asBoolean(false), serving.toString());
    }
}
