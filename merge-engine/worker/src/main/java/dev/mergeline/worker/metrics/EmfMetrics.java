package dev.mergeline.worker.metrics;

import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.util.NamedThreadFactory;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

/**
 * Adds an {@link EmfMeterRegistry} to Micrometer's global registry when {@code mergeline.metrics.emf.enabled}
 * is set; its lines go to the log category {@code mergeline.emf}, which {@code application.properties}
 * prints as the bare JSON object EMF requires.
 */
@ApplicationScoped
public class EmfMetrics {
    static final String CATEGORY = "mergeline.emf";
    private static final Logger EMF = Logger.getLogger(CATEGORY);
    private static final Logger LOG = Logger.getLogger(EmfMetrics.class);

    private EmfMeterRegistry registry;

    void start(@Observes StartupEvent event, EmfConfig config) {
        if (!config.enabled()) {
            return;
        }
        registry = new EmfMeterRegistry(config.step(), config.namespace(), config.service(), Clock.SYSTEM,
                line -> EMF.info(line));
        Metrics.addRegistry(registry);
        registry.start(new NamedThreadFactory("mergeline-emf"));
        LOG.infof("publishing mergeline.* metrics every %s as CloudWatch EMF lines (namespace %s)", config.step(),
                config.namespace());
    }

    /** Publishes the last partial step, so that a task stopping after a merge still reports it. */
    void stop(@Observes ShutdownEvent event) {
        if (registry != null) {
            Metrics.removeRegistry(registry);
            registry.close();
        }
    }
}
