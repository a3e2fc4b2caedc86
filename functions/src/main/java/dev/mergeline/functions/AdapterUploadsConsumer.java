package dev.mergeline.functions;

import io.smallrye.common.annotation.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Incoming;

/**
 * Service mode: consumes {@code adapter-uploads} directly (containers, Kubernetes, the embedded
 * stack, LocalStack without Kafka event source mappings) and runs the same code as the Lambda
 * Kafka trigger. Enabled with {@code MERGELINE_SERVICE_MODE=true}.
 */
@ApplicationScoped
public class AdapterUploadsConsumer {
    @Inject
    IntakeRouter router;

    @Incoming("adapter-uploads")
    @Blocking
    public void consume(byte[] value) throws Exception {
        router.onRecord(value);
    }
}
