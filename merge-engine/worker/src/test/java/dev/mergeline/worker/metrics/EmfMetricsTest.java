package dev.mergeline.worker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The worker's meters reach the EMF registry: the registry the worker injects (Quarkus' global composite)
 * forwards to it. The {@code %test} profile turns EMF on with a step of an hour, so nothing prints mid-test.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class EmfMetricsTest {
    @Inject
    MeterRegistry injected;

    @Test
    void metersRegisteredThroughTheInjectedRegistryArePublishedAsEmf() {
        List<EmfMeterRegistry> emf = Metrics.globalRegistry.getRegistries().stream()
                .filter(EmfMeterRegistry.class::isInstance).map(EmfMeterRegistry.class::cast).toList();
        assertEquals(1, emf.size(), () -> "registries: " + Metrics.globalRegistry.getRegistries());

        injected.counter("mergeline.merges", "outcome", "emf-probe").increment();

        assertNotNull(emf.get(0).find("mergeline.merges").tag("outcome", "emf-probe").counter(),
                "the EMF registry does not see a counter registered through the injected registry");
    }
}
