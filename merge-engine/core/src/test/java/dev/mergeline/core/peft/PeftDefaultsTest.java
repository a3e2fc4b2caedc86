package dev.mergeline.core.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The generated {@code peft-defaults.json} is what {@code generate_peft_defaults.py} wrote from the
 * pinned PEFT wheel: its bytes match the hash the script wrote next to it (no hand edits), the
 * script itself is the one that wrote it, and the PEFT version is the one {@code requirements.txt} pins.
 */
class PeftDefaultsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void resourceBytesMatchTheHashTheGeneratorWrote() throws Exception {
        byte[] data = resource(PeftDefaults.RESOURCE);
        String recorded = new String(resource(PeftDefaults.RESOURCE + ".sha256"), StandardCharsets.US_ASCII).trim();
        assertEquals(recorded, sha256(data), "peft-defaults.json was edited by hand; run generate_peft_defaults.py");
    }

    @Test
    void resourceWasWrittenByTheCommittedGenerator() throws Exception {
        JsonNode doc = JSON.readTree(resource(PeftDefaults.RESOURCE));
        byte[] script = Files.readAllBytes(fixturesDir().resolve("generate_peft_defaults.py"));
        assertEquals(doc.path("generator_sha256").asText(), sha256(script),
                "generate_peft_defaults.py changed after peft-defaults.json was generated; run it again");
    }

    @Test
    void resourceComesFromThePinnedPeft() throws Exception {
        String requirements = Files.readString(fixturesDir().resolve("requirements.txt"));
        Matcher pin = Pattern.compile("(?m)^peft==(\\S+)$").matcher(requirements);
        assertTrue(pin.find(), "requirements.txt pins peft");
        assertEquals(pin.group(1), PeftDefaults.pinned().peftVersion(),
                "requirements.txt pins another PEFT than the defaults were generated from");
        JsonNode doc = JSON.readTree(resource(PeftDefaults.RESOURCE));
        assertTrue(doc.path("sources").has("peft/utils/constants.py"), "the wheel's RECORD hash of the table source");
    }

    @Test
    void tableHoldsPeftsDefaults() {
        PeftDefaults d = PeftDefaults.pinned();
        assertEquals(List.of("q_proj", "v_proj"), names(d.targetModulesFor("llama").orElseThrow()));
        assertEquals(List.of("c_attn"), names(d.targetModulesFor("gpt2").orElseThrow()));
        assertEquals(List.of("query", "value"), names(d.targetModulesFor("bert").orElseThrow()));
        assertTrue(d.targetModulesFor("gemma4").orElseThrow().isTextual(), "gemma4's default is a regex string");
        assertTrue(d.targetModulesFor("no-such-model").isEmpty());
        assertEquals(8, d.loraDefault("r").orElseThrow().asInt());
        assertEquals(8, d.loraDefault("lora_alpha").orElseThrow().asInt());
        assertTrue(d.nullRefused("r") && d.nullRefused("lora_alpha") && d.nullRefused("bias"));
        assertTrue(!d.nullRefused("use_dora") && !d.nullRefused("target_modules"));
    }

    /** The parser's own fallbacks for absent fields are PEFT's defaults. */
    @Test
    void parserFallbacksEqualPeftDefaults() throws Exception {
        AdapterConfig c = new AdapterConfigParser().parse("{\"peft_type\":\"LORA\"}".getBytes(StandardCharsets.UTF_8));
        PeftDefaults d = PeftDefaults.pinned();
        assertEquals(d.loraDefault("r").orElseThrow().asInt(), c.r());
        assertEquals(d.loraDefault("lora_alpha").orElseThrow().asDouble(), c.loraAlpha());
        assertEquals(d.loraDefault("bias").orElseThrow().asText(), c.bias());
        assertEquals(d.loraDefault("use_rslora").orElseThrow().asBoolean(), c.useRslora());
        assertEquals(d.loraDefault("use_dora").orElseThrow().asBoolean(), c.useDora());
        assertEquals(d.loraDefault("lora_bias").orElseThrow().asBoolean(), c.loraBias());
        assertEquals(d.loraDefault("layers_to_transform").orElseThrow().isNull(), c.layersToTransform() == null);
        assertEquals(d.loraDefault("rank_pattern").orElseThrow().size(), c.rankPattern().size());
    }

    private static List<String> names(JsonNode list) {
        return JSON.convertValue(list, JSON.getTypeFactory().constructCollectionType(List.class, String.class));
    }

    private static byte[] resource(String name) throws Exception {
        try (InputStream in = PeftDefaults.class.getResourceAsStream(name)) {
            assertTrue(in != null, name + " on the class path");
            return in.readAllBytes();
        }
    }

    static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    static Path fixturesDir() {
        for (Path p : List.of(Path.of("../fixtures"), Path.of("merge-engine/fixtures"))) {
            if (Files.isRegularFile(p.resolve("generate_peft_defaults.py"))) {
                return p;
            }
        }
        throw new IllegalStateException("merge-engine/fixtures not found from " + Path.of("").toAbsolutePath());
    }
}
