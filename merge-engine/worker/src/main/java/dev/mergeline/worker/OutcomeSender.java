package dev.mergeline.worker;

import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventData;
import dev.mergeline.quarkus.KafkaEvents;
import io.smallrye.faulttolerance.api.ExponentialBackoff;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import org.eclipse.microprofile.faulttolerance.Retry;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.jboss.logging.Logger;

/**
 * Sends one outcome event until the broker acknowledges it: the same event (same CloudEvent id) up to
 * {@value #ATTEMPTS} times, 1 s after the first failure and twice as long after each further one (at
 * most 30 s), by SmallRye Fault Tolerance. Each attempt waits up to {@link #ACK_TIMEOUT} for the
 * acknowledgement; the producer itself keeps retrying within its {@code delivery.timeout.ms} (120 s by
 * default), which answers first.
 */
@ApplicationScoped
public class OutcomeSender {
    private static final Logger LOG = Logger.getLogger(OutcomeSender.class);
    static final int ATTEMPTS = 5;
    /** Longer than the producer's default delivery.timeout.ms (120 s). */
    static final Duration ACK_TIMEOUT = Duration.ofSeconds(300);

    /**
     * @throws KafkaEvents.NotAcknowledgedException when the last attempt was not acknowledged either
     * @throws InterruptedException when interrupted (not retried)
     */
    @Retry(maxRetries = ATTEMPTS - 1, delay = 1, delayUnit = ChronoUnit.SECONDS, jitter = 0,
            maxDuration = 30, durationUnit = ChronoUnit.MINUTES,
            retryOn = KafkaEvents.NotAcknowledgedException.class, abortOn = InterruptedException.class)
    @ExponentialBackoff(factor = 2, maxDelay = 30, maxDelayUnit = ChronoUnit.SECONDS)
    public void send(Emitter<byte[]> emitter, String key, CloudEvent<? extends EventData> event)
            throws KafkaEvents.NotAcknowledgedException, InterruptedException {
        try {
            KafkaEvents.sendAndWait(emitter, key, event, ACK_TIMEOUT);
        } catch (KafkaEvents.NotAcknowledgedException e) {
            LOG.warnf("%s; sent again with backoff up to %d attempts in all", e.getMessage(), ATTEMPTS);
            throw e;
        }
    }
}
