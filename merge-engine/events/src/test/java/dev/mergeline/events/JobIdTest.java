package dev.mergeline.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class JobIdTest {
    static final Map<String, String> ADAPTER = Map.of(
            "adapter_config.json", "88922bda2d21acd4faa9d6d55a0014cf",
            "adapter_model.safetensors", "3831988b807bd021f7a7d38f3e601d03-6",
            "merge.json", "26e6c9f07fdd0976aeff6c6ae69e25a6");
    static final String CONFIG_ETAG = "6521343526f51e6d18877f1d0b5dea19";
    static final Map<String, String> WEIGHTS = Map.of("model.safetensors", "917a066cab44c6a2ae15cb6675c6921e-295");
    static final String SEMANTICS = "peft-0.21/lora-1";
    static final MergeOptions BF16 = new MergeOptions("bf16", null);

    /**
     * Golden values, also reproduced by the Python reference in README.md: changing them changes
     * every job id (outputs would be merged again). Only change together with the domain tag.
     */
    @Test
    void goldenValues() {
        assertEquals("5fec8243f323ed493b612a3c582d423fe532d9d08d7d60803a810f248b92a2c7",
                BaseIdentity.compute(CONFIG_ETAG, WEIGHTS));
        assertEquals("b87a32d9bac55278b61e8918c916e314",
                JobId.compute(ADAPTER, EventFixtures.BASE_IDENTITY, SEMANTICS, BF16));
        assertEquals("b8d69d1268bb584d0725a7d627637112",
                JobId.compute(Map.of("adapter_config.json", "a", "adapter_model.safetensors", "b"),
                        BaseIdentity.compute("c", Map.of("model.safetensors", "d")), SEMANTICS, null));
    }

    @Test
    void fixturesCarryTheirRealIds() {
        MergeRequested r = EventFixtures.event(EventFixtures.MERGE_REQUESTED, MergeRequested.class).data();
        Map<String, String> weights = new TreeMap<>(r.base().etags());
        String config = weights.remove("config.json");
        assertEquals(r.base().identity(), BaseIdentity.compute(config, weights));
        assertEquals(r.jobId(), JobId.compute(r.adapter().etags(), r.base().identity(), SEMANTICS, r.options()));
    }

    @Test
    void sameInputsSameId() {
        Map<String, String> reordered = new LinkedHashMap<>();
        reordered.put("merge.json", "26e6c9f07fdd0976aeff6c6ae69e25a6");
        reordered.put("adapter_model.safetensors", "\"3831988b807bd021f7a7d38f3e601d03-6\"");
        reordered.put("adapter_config.json", "\"88922bda2d21acd4faa9d6d55a0014cf\"");
        String id = JobId.compute(ADAPTER, EventFixtures.BASE_IDENTITY, SEMANTICS, BF16);
        assertEquals(id, JobId.compute(reordered, EventFixtures.BASE_IDENTITY, SEMANTICS, BF16));
        assertEquals(id, JobId.compute(new HashMap<>(ADAPTER), EventFixtures.BASE_IDENTITY, SEMANTICS,
                new MergeOptions("torch.bfloat16", null)));
        assertEquals(id, JobId.compute(ADAPTER, EventFixtures.BASE_IDENTITY, SEMANTICS,
                new MergeOptions("bf16", 5_000_000_000L)));
        assertTrue(JobId.isValid(id));
        assertEquals(BaseIdentity.compute(CONFIG_ETAG, WEIGHTS), BaseIdentity.compute("\"" + CONFIG_ETAG + "\"",
                Map.of("model.safetensors", "\"917a066cab44c6a2ae15cb6675c6921e-295\"")));
    }

    @Test
    void defaultOptionsHaveOneId() {
        String id = JobId.compute(ADAPTER, EventFixtures.BASE_IDENTITY, SEMANTICS, null);
        assertEquals(id, JobId.compute(ADAPTER, EventFixtures.BASE_IDENTITY, SEMANTICS, MergeOptions.DEFAULTS));
        assertEquals(id, JobId.compute(ADAPTER, EventFixtures.BASE_IDENTITY, SEMANTICS,
                new MergeOptions(null, MergeOptions.DEFAULTS.effectiveMaxShardBytes())));
    }

    @Test
    void anyChangeChangesTheId() {
        String base = EventFixtures.BASE_IDENTITY;
        List<String> ids = List.of(
                JobId.compute(ADAPTER, base, SEMANTICS, BF16),
                JobId.compute(with(ADAPTER, "adapter_model.safetensors", "3831988b807bd021f7a7d38f3e601d03-7"), base,
                        SEMANTICS, BF16),
                JobId.compute(with(ADAPTER, "adapter_config.json", "88922bda2d21acd4faa9d6d55a0014ce"), base,
                        SEMANTICS, BF16),
                JobId.compute(with(ADAPTER, "tokenizer.json", "aa"), base, SEMANTICS, BF16),
                JobId.compute(without(ADAPTER, "merge.json"), base, SEMANTICS, BF16),
                JobId.compute(renamed(ADAPTER, "merge.json", "merge.json5"), base, SEMANTICS, BF16),
                JobId.compute(ADAPTER, BaseIdentity.compute(CONFIG_ETAG, Map.of("model.safetensors", "x-295")),
                        SEMANTICS, BF16),
                JobId.compute(ADAPTER, BaseIdentity.compute("other", WEIGHTS), SEMANTICS, BF16),
                JobId.compute(ADAPTER, base, "peft-0.21/lora-2", BF16),
                JobId.compute(ADAPTER, base, SEMANTICS, null),
                JobId.compute(ADAPTER, base, SEMANTICS, new MergeOptions("fp16", null)),
                JobId.compute(ADAPTER, base, SEMANTICS, new MergeOptions("fp32", null)),
                JobId.compute(ADAPTER, base, SEMANTICS, new MergeOptions("bf16", 2_000_000_000L)),
                JobId.compute(ADAPTER, base, SEMANTICS, new MergeOptions(null, 2_000_000_000L)));
        assertEquals(ids.size(), Set.copyOf(ids).size(), ids.toString());
    }

    @Test
    void encodingIsUnambiguous() {
        String b = EventFixtures.BASE_IDENTITY;
        // Moving characters between key and value, or between entries, must change the id.
        assertNotEquals(JobId.compute(Map.of("ab", "c"), b, SEMANTICS, null),
                JobId.compute(Map.of("a", "bc"), b, SEMANTICS, null));
        assertNotEquals(JobId.compute(Map.of("a", "b", "c", "d"), b, SEMANTICS, null),
                JobId.compute(Map.of("a", "bcd"), b, SEMANTICS, null));
        assertNotEquals(JobId.compute(Map.of("a", "b"), b + "x", "y", null),
                JobId.compute(Map.of("a", "b"), b, "xy", null));
        assertNotEquals(BaseIdentity.compute("a", Map.of("bc", "d")), BaseIdentity.compute("ab", Map.of("c", "d")));
        assertNotEquals(BaseIdentity.compute("a", Map.of("model-1.safetensors", "x", "model-2.safetensors", "y")),
                BaseIdentity.compute("a", Map.of("model-1.safetensors", "y", "model-2.safetensors", "x")));
    }

    @Test
    void baseIdentityIsAFullSha256() {
        assertTrue(BaseIdentity.compute(CONFIG_ETAG, WEIGHTS).matches("[0-9a-f]{64}"));
        assertTrue(JobId.compute(ADAPTER, EventFixtures.BASE_IDENTITY, SEMANTICS, BF16).matches("[0-9a-f]{32}"));
    }

    @Test
    void invalidInputsAreRefused() {
        assertThrows(EventFormatException.class, () -> JobId.compute(Map.of(), "b", SEMANTICS, null));
        assertThrows(EventFormatException.class, () -> JobId.compute(null, "b", SEMANTICS, null));
        assertThrows(EventFormatException.class, () -> JobId.compute(ADAPTER, null, SEMANTICS, null));
        assertThrows(EventFormatException.class, () -> JobId.compute(ADAPTER, "b", " ", null));
        assertThrows(EventFormatException.class, () -> JobId.compute(Map.of("a", "\"\""), "b", SEMANTICS, null));
        assertThrows(EventFormatException.class, () -> BaseIdentity.compute("c", Map.of()));
        assertThrows(EventFormatException.class, () -> BaseIdentity.compute(null, WEIGHTS));
    }

    private static Map<String, String> with(Map<String, String> m, String k, String v) {
        Map<String, String> copy = new HashMap<>(m);
        copy.put(k, v);
        return copy;
    }

    private static Map<String, String> without(Map<String, String> m, String k) {
        Map<String, String> copy = new HashMap<>(m);
        copy.remove(k);
        return copy;
    }

    private static Map<String, String> renamed(Map<String, String> m, String from, String to) {
        Map<String, String> copy = without(m, from);
        copy.put(to, m.get(from));
        return copy;
    }
}
