package dev.mergeline.functions;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;

/** Funqy input bean for Lambda's {@code aws:kafka} event (MSK or self-managed Kafka). */
@JsonIgnoreProperties(ignoreUnknown = true)
public class KafkaEventInput {
    public String eventSource;
    public String bootstrapServers;
    /** "topic-partition" → records. */
    public Map<String, List<Record>> records;

    /** One Kafka record; {@code key} and {@code value} are base64. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Record {
        public String topic;
        public int partition;
        public long offset;
        public long timestamp;
        public String key;
        public String value;
    }
}
