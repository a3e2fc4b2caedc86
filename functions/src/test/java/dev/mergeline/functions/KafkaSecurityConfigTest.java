package dev.mergeline.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * MSK IAM as the CDK stack configures it — the {@code KAFKA_*} environment variables of
 * {@code infra/…/KafkaClients} — reaches every Kafka client the functions create: both producers
 * ({@code merge-requests}, {@code merge-failures}) and the service-mode consumer
 * ({@code adapter-uploads}). Each client is the real Kafka client, constructed with
 * {@code AWS_MSK_IAM}, which needs {@code aws-msk-iam-auth}'s classes; no broker is needed, nothing
 * is sent.
 */
@QuarkusTest
@TestProfile(KafkaSecurityConfigTest.MskIam.class)
class KafkaSecurityConfigTest {

    /** The settings under the names the Lambda environment gives them. */
    static final Map<String, String> MSK_IAM_ENVIRONMENT = Map.of(
            "KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
            "KAFKA_SASL_MECHANISM", "AWS_MSK_IAM",
            "KAFKA_SASL_JAAS_CONFIG", "software.amazon.msk.auth.iam.IAMLoginModule required;",
            "KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS", "software.amazon.msk.auth.iam.IAMClientCallbackHandler");

    /** The Kafka client properties those variables must become. */
    static final Map<String, String> MSK_IAM_PROPERTIES = Map.of(
            "security.protocol", "SASL_SSL",
            "sasl.mechanism", "AWS_MSK_IAM",
            "sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;",
            "sasl.client.callback.handler.class", "software.amazon.msk.auth.iam.IAMClientCallbackHandler");

    public static class MskIam implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> config = new java.util.HashMap<>(MSK_IAM_ENVIRONMENT);
            config.put("kafka.bootstrap.servers", "127.0.0.1:9"); // nothing listens: no connection is made
            config.put("mp.messaging.incoming.adapter-uploads.enabled", "true"); // service mode
            return config;
        }
    }

    @Inject
    KafkaClientService clients;

    @Test
    void everyKafkaClientGetsTheMskIamSettings() {
        assertEquals(Set.of("merge-requests", "merge-failures"), clients.getProducerChannels());
        for (String channel : List.of("merge-requests", "merge-failures")) {
            var producer = clients.<String, byte[]>getProducer(channel);
            assertSettings(channel, producer.configuration());
            assertInstanceOf(org.apache.kafka.clients.producer.KafkaProducer.class, producer.unwrap(), channel);
        }
        assertEquals(Set.of("adapter-uploads"), clients.getConsumerChannels());
        var consumer = clients.<String, byte[]>getConsumer("adapter-uploads");
        assertSettings("adapter-uploads", consumer.configuration());
        assertInstanceOf(org.apache.kafka.clients.consumer.KafkaConsumer.class, consumer.unwrap(), "adapter-uploads");
    }

    private static void assertSettings(String channel, Map<String, ?> configuration) {
        MSK_IAM_PROPERTIES.forEach((key, value) -> assertEquals(value, String.valueOf(configuration.get(key)),
                channel + ": " + key));
        assertEquals("127.0.0.1:9", String.valueOf(configuration.get("bootstrap.servers")), channel);
    }
}
