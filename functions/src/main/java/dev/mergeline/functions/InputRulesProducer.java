package dev.mergeline.functions;

import dev.mergeline.core.run.InputRules;
import dev.mergeline.quarkus.MergelineSettings;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** The input rules with the configured limits (unset ones are core's defaults). */
@ApplicationScoped
public class InputRulesProducer {

    @Produces
    @ApplicationScoped
    InputRules inputRules(MergelineSettings settings) {
        return new InputRules(settings.limits().inputLimits());
    }
}
