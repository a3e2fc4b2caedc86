package dev.mergeline.core.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mergeline.core.run.LocalInputs;
import dev.mergeline.core.run.MergeInputs;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.Validator;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Fuzz target for {@code adapter_config.json}: whatever the bytes, {@link AdapterConfigParser#parse}
 * returns a config or throws {@link RejectedException}; a parsed config answers {@code targets},
 * {@code rankFor}, {@code alphaFor}, {@code scalingFor} and {@code isModuleToSave} for any module
 * name without failing (the one allowed exception is {@link PythonRegex.RegexBudgetExceededException}
 * from patterns that exhaust a step budget, per match or for the whole config); and the full
 * {@link Validator}, run with the config against the tiny Llama fixture's headers, returns a plan
 * or throws RejectedException.
 * Anything else — NumberFormatException, PatternSyntaxException, StackOverflowError — is a finding.
 *
 * <p>A plain test run replays {@code src/test/resources/dev/mergeline/core/peft/AdapterConfigFuzzTestInputs/parse/};
 * {@code JAZZER_FUZZ=1} fuzzes (see {@code merge-engine/fuzz.sh}). Jazzer's regex-injection
 * detector is off for this module ({@code junit-platform.properties}): compiling the config's own
 * patterns is PEFT's semantics, and their cost is bounded by PythonRegex's step budget.
 */
class AdapterConfigFuzzTest {
    /** Module names as the planner passes them, and hostile ones (a layer number beyond int, empty, long, odd). */
    private static final List<String> MODULES = List.of(
            "model.layers.0.self_attn.q_proj",
            "base_model.model.model.layers.1.mlp.down_proj",
            "model.embed_tokens",
            "lm_head",
            "transformer.h.3.attn.c_attn",
            "model.layers.99999999999999999999.self_attn.q_proj",
            "model.layers.-1.self_attn.v_proj",
            "",
            ".",
            "a".repeat(300) + ".q_proj",
            "model.layers.\u0663.mlp.up_proj",
            "classifier");

    /** The codes a config parse can give: anything else would be a rule outside the parser's job. */
    private static final Set<ReasonCode> CONFIG_CODES = EnumSet.of(ReasonCode.ADAPTER_CONFIG_INVALID,
            ReasonCode.PEFT_TYPE_UNSUPPORTED, ReasonCode.PEFT_VARIANT_UNSUPPORTED, ReasonCode.UNKNOWN_CONFIG_FIELD);
    private static final AdapterConfigParser PARSER = new AdapterConfigParser();
    private static final MergeInputs LLAMA = llamaInputs();

    @FuzzTest(maxDuration = "60s")
    void parse(byte[] json) {
        AdapterConfig config;
        try {
            config = PARSER.parse(json);
        } catch (RejectedException rejected) {
            for (Reason r : rejected.reasons()) {
                assertTrue(CONFIG_CODES.contains(r.code()), () -> "a config parse gave " + r);
                assertFalse(r.message().isBlank());
            }
            // The Validator reports the parser's reasons (code, tensor, detail) when only the adapter config
            // is wrong; messages may differ in where a streaming parse noticed an oversized value.
            RejectedException validated = assertThrows(RejectedException.class, () -> validate(json));
            assertEquals(summary(rejected.reasons()), summary(validated.reasons()));
            return;
        }
        assertTrue(config.r() >= 1 && config.r() <= AdapterConfigParser.MAX_RANK, () -> "r = " + config.r());
        assertTrue(Double.isFinite(config.loraAlpha()), () -> "lora_alpha = " + config.loraAlpha());
        try {
            // As the planner does: every match of one config shares one budget.
            RegexBudget budget = RegexBudget.perValidation();
            for (String module : MODULES) {
                config.targets(module, budget);
                config.isModuleToSave(module);
                int rank = config.rankFor(module, budget);
                assertTrue(rank >= 1 && rank <= AdapterConfigParser.MAX_RANK, () -> "rank " + rank + " for " + module);
                assertTrue(Double.isFinite(config.alphaFor(module, budget)));
                config.scalingFor(module, budget);
            }
        } catch (PythonRegex.RegexBudgetExceededException allowed) {
            // a hostile pattern; the Validator makes it ADAPTER_CONFIG_INVALID
        }
        try {
            validate(json);
        } catch (RejectedException rejected) {
            // The config parsed: what remains wrong is how it fits the base, or a regex over its budget.
            for (Reason r : rejected.reasons()) {
                assertTrue(r.code() != ReasonCode.UNKNOWN_CONFIG_FIELD && r.code() != ReasonCode.PEFT_TYPE_UNSUPPORTED,
                        r::toString);
            }
        }
    }

    private static void validate(byte[] json) throws RejectedException {
        new Validator().validate(new MergeInputs(json, LLAMA.adapterHeader(), LLAMA.baseConfigJson(),
                LLAMA.baseTensors()), MergeOptions.defaults());
    }

    private static MergeInputs llamaInputs() {
        var dir = PeftFixtures.caseDir("llama-bf16-plain");
        try (LocalInputs in = LocalInputs.open(dir.resolve("base"), dir.resolve("adapter"))) {
            return in.inputs();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (RejectedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> summary(List<Reason> reasons) {
        return reasons.stream().map(r -> r.code() + "/" + r.tensor() + "/" + r.detail()).toList();
    }
}
