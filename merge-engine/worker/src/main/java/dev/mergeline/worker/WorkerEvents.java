package dev.mergeline.worker;

import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventData;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeProgress;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.quarkus.KafkaEvents;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.concurrent.CompletableFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.jboss.logging.Logger;

/**
 * Publishes the worker's CloudEvents, key = jobId. Ready and failed events wait for the broker's
 * acknowledgement, so the request's offset is committed only after its outcome is durable. While the
 * broker is unreachable the producer keeps retrying (up to its {@code delivery.timeout.ms}); a send
 * that still fails is repeated with backoff — the same event, same CloudEvent id — up to
 * {@value OutcomeSender#ATTEMPTS} times ({@link OutcomeSender}). After that the request fails without being acknowledged: it stays
 * uncommitted, the channel reports the failure (health DOWN) and the job is redelivered after a restart.
 * Progress events are the exception: sent without waiting, dropped (and logged) when they cannot be
 * sent, never failing a job.
 */
@ApplicationScoped
public class WorkerEvents implements JobEvents {
    private static final Logger LOG = Logger.getLogger(WorkerEvents.class);
    static final String SOURCE = "/mergeline/merge-worker";

    @Inject
    OutcomeSender sender;

    @Inject
    @Channel("merged-model-ready")
    Emitter<byte[]> ready;

    @Inject
    @Channel("merge-failures")
    Emitter<byte[]> failures;

    @Inject
    @Channel("merge-progress")
    Emitter<byte[]> progress;

    /** The acknowledgement of the last progress event sent; progress events are acknowledged in order. */
    private volatile CompletableFuture<Void> lastProgress = CompletableFuture.completedFuture(null);

    /** Sends a progress event without waiting for it; a failure is logged, never thrown. */
    @Override
    public void progress(MergeProgress data) {
        try {
            CompletableFuture<Void> acked = KafkaEvents.send(progress, data.jobId(), CloudEvent.create(SOURCE, data));
            acked.whenComplete((ok, failure) -> {
                if (failure != null) {
                    LOG.debugf("progress event of job %s not delivered: %s", data.jobId(), failure);
                }
            });
            lastProgress = acked;
        } catch (RuntimeException e) {
            LOG.debugf("progress event of job %s dropped: %s", data.jobId(), e);
        }
    }

    /**
     * Waits up to {@code timeout} until the progress events sent so far are acknowledged, so that a
     * job's progress reaches the broker before its outcome; gives up quietly.
     */
    @Override
    public void awaitProgress(Duration timeout) {
        try {
            lastProgress.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.debugf("progress events not acknowledged: %s", e);
        }
    }

    @Override
    public void ready(MergedModelReady data) {
        sendAndWait(ready, data.jobId(), data);
    }

    @Override
    public void failed(MergeFailed data) {
        sendAndWait(failures, data.jobId(), data);
    }

    private void sendAndWait(Emitter<byte[]> emitter, String key, EventData data) {
        try {
            sender.send(emitter, key, CloudEvent.create(SOURCE, data));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JobHandedBack("interrupted while sending the event for job " + key);
        } catch (KafkaEvents.NotAcknowledgedException e) {
            // No outcome could be published: the request must not be committed either.
            throw new JobHandedBack(e.getMessage() + " after " + OutcomeSender.ATTEMPTS
                    + " attempts; left uncommitted for redelivery");
        }
    }
}
