package dev.mergeline.infra;

import java.util.LinkedHashMap;
import java.util.Map;

import software.amazon.awscdk.services.secretsmanager.ISecret;
import software.amazon.awscdk.services.secretsmanager.Secret;
import software.constructs.Construct;

/**
 * Kafka client settings of the functions and the worker, as environment variables. Quarkus turns
 * every {@code KAFKA_*} variable into a {@code kafka.*} client property
 * ({@code KAFKA_SASL_MECHANISM} → {@code sasl.mechanism}) for all channels, so security is wired
 * through configuration only:
 * <ul>
 * <li>{@code iam} (MSK): SASL_SSL + AWS_MSK_IAM; the task or function role is the identity; the
 * applications need {@code software.amazon.msk:aws-msk-iam-auth} on their class path.</li>
 * <li>{@code scram}: SASL_SSL + SCRAM-SHA-512 with the user and password of the Secrets Manager
 * secret {@code kafkaSecretArn} ({@code {"username":…,"password":…}}, the format Lambda's Kafka
 * event source mappings use). The worker's JAAS line references {@code MERGELINE_KAFKA_USERNAME} /
 * {@code _PASSWORD}, which ECS injects from the secret at task start; the functions' JAAS line names
 * only the secret's ARN, and {@value #SCRAM_SECRET_CALLBACK} reads the secret from Secrets Manager
 * when a connection authenticates. Neither the template nor a function's configuration holds the
 * value.</li>
 * <li>{@code tls}: SSL without SASL. {@code plaintext}: nothing.</li>
 * </ul>
 */
public final class KafkaClients {

    public static final String USERNAME_VAR = "MERGELINE_KAFKA_USERNAME";
    public static final String PASSWORD_VAR = "MERGELINE_KAFKA_PASSWORD";
    /** The functions' SASL client callback that reads the SCRAM secret at run time (module merge-engine/s3). */
    public static final String SCRAM_SECRET_CALLBACK = "dev.mergeline.s3.SecretsManagerScramCallback";
    private static final String SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required";

    private final MergelineConfig config;
    private final ISecret secret;

    public KafkaClients(Construct scope, MergelineConfig config) {
        this.config = config;
        this.secret = config.kafkaSecretArn == null ? null
                : Secret.fromSecretCompleteArn(scope, "KafkaSecret", config.kafkaSecretArn);
    }

    /** The SASL/SCRAM secret, or null. */
    public ISecret secret() {
        return secret;
    }

    /** The worker's Kafka client settings (no secret values; with SCRAM see {@link #ecsSecrets()}). */
    public Map<String, String> environment() {
        Map<String, String> env = common();
        if (config.kafkaClientAuth == MergelineConfig.KafkaClientAuth.SCRAM) {
            env.put("KAFKA_SASL_JAAS_CONFIG", SCRAM_LOGIN
                    + " username=\"${" + USERNAME_VAR + "}\" password=\"${" + PASSWORD_VAR + "}\";");
        }
        return env;
    }

    /** The functions' Kafka client settings: with SCRAM, the secret's ARN and the callback that reads it. */
    public Map<String, String> lambdaEnvironment() {
        Map<String, String> env = common();
        if (config.kafkaClientAuth == MergelineConfig.KafkaClientAuth.SCRAM) {
            env.put("KAFKA_SASL_JAAS_CONFIG", SCRAM_LOGIN + " secretArn=\"" + config.kafkaSecretArn + "\";");
            env.put("KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS", SCRAM_SECRET_CALLBACK);
        }
        return env;
    }

    private Map<String, String> common() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("KAFKA_BOOTSTRAP_SERVERS", config.kafkaBootstrapServers);
        switch (config.kafkaClientAuth) {
            case IAM -> {
                env.put("KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
                env.put("KAFKA_SASL_MECHANISM", "AWS_MSK_IAM");
                env.put("KAFKA_SASL_JAAS_CONFIG", "software.amazon.msk.auth.iam.IAMLoginModule required;");
                env.put("KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS",
                        "software.amazon.msk.auth.iam.IAMClientCallbackHandler");
            }
            case SCRAM -> {
                env.put("KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
                env.put("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512");
            }
            case TLS -> env.put("KAFKA_SECURITY_PROTOCOL", "SSL");
            case PLAINTEXT -> {
            }
        }
        return env;
    }

    /** For ECS: the SCRAM user and password injected from Secrets Manager at task start. */
    public Map<String, software.amazon.awscdk.services.ecs.Secret> ecsSecrets() {
        Map<String, software.amazon.awscdk.services.ecs.Secret> out = new LinkedHashMap<>();
        if (config.kafkaClientAuth == MergelineConfig.KafkaClientAuth.SCRAM) {
            out.put(USERNAME_VAR, software.amazon.awscdk.services.ecs.Secret.fromSecretsManager(secret, "username"));
            out.put(PASSWORD_VAR, software.amazon.awscdk.services.ecs.Secret.fromSecretsManager(secret, "password"));
        }
        return out;
    }
}
