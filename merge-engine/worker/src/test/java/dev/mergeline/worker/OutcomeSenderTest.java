package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventFixtures;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.quarkus.KafkaEvents;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.junit.jupiter.api.Test;

/**
 * Outcome events are sent again, with backoff, until the broker acknowledges them — the same bytes
 * every time — and given up after {@value OutcomeSender#ATTEMPTS} attempts. The broker is a channel
 * that refuses (nacks) a given number of sends.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class OutcomeSenderTest {

    @Inject
    OutcomeSender sender;

    private static CloudEvent<MergeFailed> event() {
        return EventCodec.instance().decode(EventFixtures.load(EventFixtures.MERGE_FAILED), MergeFailed.class);
    }

    @Test
    void aRefusedEventIsSentAgainWithBackoffUntilAcknowledged() throws Exception {
        RefusingEmitter emitter = new RefusingEmitter(2);
        long start = System.nanoTime();
        sender.send(emitter, "job", event());
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;

        assertEquals(3, emitter.sent.size());
        emitter.sent.forEach(bytes -> assertArrayEquals(emitter.sent.get(0), bytes, "the same event each time"));
        assertTrue(elapsedMs >= 3000, "1 s, then 2 s between the attempts: " + elapsedMs + " ms");
    }

    @Test
    void anEventNeverAcknowledgedFailsAfterTheLastAttempt() {
        RefusingEmitter emitter = new RefusingEmitter(Integer.MAX_VALUE);
        assertThrows(KafkaEvents.NotAcknowledgedException.class, () -> sender.send(emitter, "job", event()));
        assertEquals(OutcomeSender.ATTEMPTS, emitter.sent.size());
    }

    /** Nacks the first {@code refusals} messages, acknowledges the rest. */
    private static final class RefusingEmitter implements Emitter<byte[]> {
        final List<byte[]> sent = new ArrayList<>();
        private int refusals;

        RefusingEmitter(int refusals) {
            this.refusals = refusals;
        }

        @Override
        public <M extends Message<? extends byte[]>> void send(M message) {
            sent.add(message.getPayload());
            if (refusals > 0) {
                refusals--;
                message.nack(new IllegalStateException("broker unavailable"));
            } else {
                message.ack();
            }
        }

        @Override
        public CompletionStage<Void> send(byte[] payload) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void complete() {}

        @Override
        public void error(Exception e) {}

        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public boolean hasRequests() {
            return true;
        }
    }
}
