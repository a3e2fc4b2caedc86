package dev.mergeline.functions;

import dev.mergeline.events.AdapterAnnouncement;
import dev.mergeline.events.AdapterObjectKey;
import dev.mergeline.events.AdapterLocation;
import dev.mergeline.events.EventFormatException;
import dev.mergeline.events.FailureCode;
import dev.mergeline.events.InboundMessage;
import dev.mergeline.events.MessageMalformed;
import dev.mergeline.events.Topics;
import dev.mergeline.events.ObjectCreated;
import dev.mergeline.events.Problem;
import dev.mergeline.events.S3EventNotification;
import dev.mergeline.s3.StorageException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Turns inbound messages (S3 notifications, announcements) into adapter validations: every record
 * of a batch, each adapter once per batch, non-adapter keys ignored.
 */
@ApplicationScoped
public class IntakeRouter {
    private static final Logger LOG = Logger.getLogger(IntakeRouter.class);

    @Inject
    AdapterIntakeService intake;
    @Inject
    EventPublisher publisher;

    /** Handles the records of one S3 notification. */
    public IntakeSummary onNotification(S3EventNotification notification) throws StorageException {
        IntakeSummary summary = new IntakeSummary();
        Set<AdapterLocation> adapters = new LinkedHashSet<>();
        for (ObjectCreated record : notification.records()) {
            Optional<AdapterObjectKey> key = record.adapterKey();
            if (key.isEmpty() || !key.get().file().triggersValidation()) {
                LOG.infof("ignoring s3://%s/%s: not an adapter file", record.bucket(), record.key());
                summary.ignored.add(record.key());
            } else {
                adapters.add(key.get().location());
            }
        }
        for (AdapterLocation adapter : adapters) {
            summary.add(adapter, intake.handle(adapter, Optional.empty()));
        }
        return summary;
    }

    public IntakeSummary onAnnouncement(AdapterAnnouncement announcement) throws StorageException {
        IntakeSummary summary = new IntakeSummary();
        summary.add(announcement.location(), intake.handle(announcement.location(), Optional.ofNullable(announcement.base())));
        return summary;
    }

    /**
     * One record value from {@code adapter-uploads}. A malformed value is reported on
     * {@code merge-failures} and never blocks the rest of the batch.
     */
    public IntakeSummary onRecord(byte[] value) throws StorageException {
        InboundMessage message;
        try {
            message = InboundMessage.parse(value);
        } catch (EventFormatException e) {
            LOG.warnf("malformed adapter-uploads record: %s", e.getMessage());
            publisher.malformed(new MessageMalformed(Topics.ADAPTER_UPLOADS,
                    new String(value, 0, Math.min(value.length, 200), java.nio.charset.StandardCharsets.UTF_8),
                    List.of(Problem.of(FailureCode.MALFORMED_MESSAGE, e.getMessage()))));
            IntakeSummary summary = new IntakeSummary();
            summary.malformed++;
            return summary;
        }
        if (message instanceof S3EventNotification n) {
            return onNotification(n);
        }
        return onAnnouncement((AdapterAnnouncement) message);
    }
}
