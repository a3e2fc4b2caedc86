package dev.mergeline.worker.metrics;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** CloudWatch Embedded Metric Format output of the worker's meters (see {@link EmfMeterRegistry}). */
@ConfigMapping(prefix = "mergeline.metrics.emf")
public interface EmfConfig {
    /** Print EMF lines on the log category {@code mergeline.emf}; the AWS stack turns this on. */
    @WithDefault("false")
    boolean enabled();

    /** CloudWatch namespace of the metrics. */
    @WithDefault("Mergeline/Worker")
    String namespace();

    /** Value of the {@code Service} dimension on every metric. */
    @WithDefault("merge-worker")
    String service();

    /** Publishing interval: one line per meter and interval. */
    @WithDefault("60s")
    Duration step();
}
