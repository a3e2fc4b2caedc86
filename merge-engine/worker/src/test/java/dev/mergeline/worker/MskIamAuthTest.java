package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/**
 * The settings the README gives for Amazon MSK with IAM authentication ({@code KAFKA_SECURITY_PROTOCOL},
 * {@code KAFKA_SASL_MECHANISM}, {@code KAFKA_SASL_JAAS_CONFIG}, {@code KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS})
 * build a Kafka client on the worker's classpath: the login module and callback handler of
 * aws-msk-iam-auth load and accept them. (Nothing connects: there is no MSK here.)
 */
class MskIamAuthTest {

    static Map<String, Object> mskIam(String callbackHandler) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", "127.0.0.1:9");
        config.put("group.id", "msk-iam-test");
        config.put("security.protocol", "SASL_SSL");
        config.put("sasl.mechanism", "AWS_MSK_IAM");
        config.put("sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;");
        config.put("sasl.client.callback.handler.class", callbackHandler);
        return config;
    }

    @Test
    void theMskIamSaslSettingsBuildAClient() {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                mskIam("software.amazon.msk.auth.iam.IAMClientCallbackHandler"), new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            assertTrue(consumer.metrics() != null);
        }
    }

    @Test
    void aMissingCallbackHandlerIsRefused() {
        assertThrows(KafkaException.class, () -> new KafkaConsumer<>(mskIam("software.amazon.msk.auth.iam.NoSuchHandler"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer()).close());
    }
}
