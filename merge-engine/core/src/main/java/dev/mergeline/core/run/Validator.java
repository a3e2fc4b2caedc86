package dev.mergeline.core.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.peft.AdapterConfig;
import dev.mergeline.core.peft.AdapterConfigParser;
import dev.mergeline.core.peft.ConfigResolver;
import dev.mergeline.core.peft.PythonRegex;
import dev.mergeline.core.peft.ResolvedConfig;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.MergePlanner;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The one rule set: turns {@link MergeInputs} into a {@link MergePlan} or a rejection with every
 * reason found. Reads configs and headers only, never weights.
 */
public final class Validator {
    private final AdapterConfigParser adapterParser = new AdapterConfigParser();
    private final ConfigResolver resolver = new ConfigResolver();
    private final MergePlanner planner = new MergePlanner();
    private final ObjectMapper mapper = new ObjectMapper();

    public MergePlan validate(MergeInputs inputs, MergeOptions options) throws RejectedException {
        List<Reason> reasons = new ArrayList<>();
        AdapterConfig adapter = null;
        try {
            adapter = adapterParser.parse(inputs.adapterConfigJson());
        } catch (RejectedException e) {
            reasons.addAll(e.reasons());
        }
        ModelConfig base = null;
        try {
            base = ModelConfig.parse(inputs.baseConfigJson(), mapper);
        } catch (IOException e) {
            reasons.add(Reason.about(ReasonCode.BASE_MODEL_UNKNOWN, InputRules.BASE_CONFIG,
                    "the base config.json is not valid: " + e.getMessage()));
        }
        if (!reasons.isEmpty()) {
            throw new RejectedException(reasons);
        }
        ResolvedConfig resolved = resolver.resolve(adapter, base.modelType());
        try {
            return planner.plan(resolved.config(), inputs.adapterHeader().tensors(), base, inputs.baseTensors(),
                    options.outputDType()).withConfigDefaults(resolved.defaults());
        } catch (RejectedException e) {
            throw new RejectedException(resolved.explain(e.reasons()));
        } catch (PythonRegex.RegexBudgetExceededException e) {
            throw new RejectedException(Reason.of(ReasonCode.ADAPTER_CONFIG_INVALID, e.getMessage()));
        }
    }
}
