package dev.mergeline.core.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.TensorOp;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The serving-compatibility rules of {@code serving-rules.json} (one data file, with the engines'
 * sources), applied to a merge plan: for each engine, can it load this adapter unmerged and serve
 * what PEFT would compute?
 */
public final class ServingRules {

    /** What an engine does with an adapter feature. */
    enum Effect {
        /** Loading fails. */
        REFUSES,
        /** Loading succeeds but the feature is dropped: served outputs differ from the adapter's. */
        IGNORES,
        /**
         * Whether the engine loads the feature and serves what PEFT computes depends on its support for the
         * model, which the report does not check: counted as not servable unmerged.
         */
        DEPENDS_ON_MODEL,
        /** Servable with a setting named in the message. */
        NEEDS
    }

    record Rule(AdapterFeature feature, Effect effect, String message) {}

    record Engine(String key, String name, List<Integer> maxRankChoices, int defaultMaxRank, List<Rule> rules) {
        int largestRank() {
            return maxRankChoices.isEmpty() ? 0 : maxRankChoices.get(maxRankChoices.size() - 1);
        }

        /** The smallest rank setting that holds {@code rank}, or 0 when the engine has no rank choices. */
        int smallestRankSettingFor(int rank) {
            return maxRankChoices.stream().filter(c -> c >= rank).findFirst().orElse(0);
        }
    }

    private static final String RESOURCE = "serving-rules.json";

    private final List<Engine> engines;

    private ServingRules(List<Engine> engines) {
        this.engines = List.copyOf(engines);
    }

    /** The rules shipped with this version. */
    public static ServingRules bundled() {
        try (InputStream in = ServingRules.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the classpath");
            }
            return parse(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    static ServingRules parse(JsonNode root) {
        List<Engine> engines = new ArrayList<>();
        root.path("engines").fields().forEachRemaining(e -> {
            JsonNode node = e.getValue();
            List<Integer> choices = new ArrayList<>();
            node.path("maxRankChoices").forEach(c -> choices.add(c.intValue()));
            List<Rule> rules = new ArrayList<>();
            node.path("rules").forEach(r -> rules.add(new Rule(AdapterFeature.valueOf(r.path("feature").asText()),
                    Effect.valueOf(r.path("effect").asText()), r.path("message").asText())));
            engines.add(new Engine(e.getKey(), node.path("name").asText(e.getKey()), List.copyOf(choices),
                    node.path("defaultMaxRank").asInt(0), List.copyOf(rules)));
        });
        return new ServingRules(engines);
    }

    /** One verdict per engine, keyed by the engine's key ({@code vllm}, {@code lorax}), in file order. */
    public Map<String, ServingVerdict> assess(MergePlan plan) {
        int maxRank = plan.tensors().stream()
                .filter(t -> t.op().unwrapped() instanceof TensorOp.LowRank)
                .mapToInt(t -> ((TensorOp.LowRank) t.op().unwrapped()).rank())
                .max().orElse(0);
        Map<String, ServingVerdict> verdicts = new LinkedHashMap<>();
        for (Engine engine : engines) {
            boolean servable = true;
            List<String> reasons = new ArrayList<>();
            for (Rule rule : engine.rules()) {
                if (!rule.feature().presentIn(plan, maxRank, engine.largestRank(), engine.defaultMaxRank())) {
                    continue;
                }
                switch (rule.effect()) {
                    case REFUSES -> {
                        servable = false;
                        reasons.add(engine.name() + " refuses to load it: " + rule.message() + rankDetail(rule, maxRank));
                    }
                    case IGNORES -> {
                        servable = false;
                        reasons.add("would be served wrongly by " + engine.name() + ": " + rule.message());
                    }
                    case DEPENDS_ON_MODEL -> {
                        servable = false;
                        reasons.add(engine.name() + " serves it as PEFT computes only on some models: " + rule.message());
                    }
                    case NEEDS -> reasons.add(rule.message() + " " + engine.smallestRankSettingFor(maxRank)
                            + rankDetail(rule, maxRank));
                }
            }
            if (servable && engine.defaultMaxRank() > 0 && maxRank <= engine.defaultMaxRank()) {
                reasons.add(String.format(Locale.ROOT, "largest rank %d fits %s's default max_lora_rank %d",
                        maxRank, engine.name(), engine.defaultMaxRank()));
            }
            verdicts.put(engine.key(), new ServingVerdict(servable, reasons));
        }
        return verdicts;
    }

    private static String rankDetail(Rule rule, int maxRank) {
        return switch (rule.feature()) {
            case RANK_ABOVE_ENGINE_MAX, RANK_ABOVE_ENGINE_DEFAULT -> " (largest rank " + maxRank + ")";
            default -> "";
        };
    }
}
