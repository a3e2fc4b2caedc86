package dev.mergeline.functions;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.events.S3EventNotification;
import dev.mergeline.s3.StorageException;
import io.quarkus.funqy.Funq;
import jakarta.inject.Inject;
import java.util.Base64;
import java.util.List;

/**
 * The Funqy entry points; thin by design, each hands its input to {@link IntakeRouter}. On AWS
 * Lambda one {@code function.zip} serves both, selected per Lambda with {@code QUARKUS_FUNQY_EXPORT};
 * locally Funqy HTTP exposes them as {@code POST /s3Trigger} and {@code POST /kafkaTrigger}.
 */
public class AdapterFunctions {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    IntakeRouter router;

    /** S3 ObjectCreated notification for {@code adapters/<id>/…} (all records of the batch). */
    @Funq
    public IntakeSummary s3Trigger(S3NotificationInput notification) throws Exception {
        return router.onNotification(S3EventNotification.parse(JSON.valueToTree(notification)));
    }

    /**
     * Lambda's {@code aws:kafka} event from topic {@code adapter-uploads}: base64 record values, each
     * an S3 notification or an announcement. A malformed record is reported and skipped; a storage
     * failure fails the invocation so that Lambda retries the batch.
     */
    @Funq
    public IntakeSummary kafkaTrigger(KafkaEventInput event) throws StorageException {
        IntakeSummary summary = new IntakeSummary();
        if (event.records == null) {
            return summary;
        }
        for (List<KafkaEventInput.Record> partition : event.records.values()) {
            for (KafkaEventInput.Record record : partition) {
                byte[] value;
                try {
                    value = record.value == null ? new byte[0] : Base64.getDecoder().decode(record.value);
                } catch (IllegalArgumentException e) {
                    value = new byte[0]; // reported as malformed below
                }
                summary.addAll(router.onRecord(value));
            }
        }
        return summary;
    }
}
