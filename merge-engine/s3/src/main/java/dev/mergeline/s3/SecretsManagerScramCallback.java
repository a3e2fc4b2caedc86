package dev.mergeline.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClientBuilder;

/**
 * Kafka SASL/SCRAM client callback that reads the user and password from a Secrets Manager secret
 * ({@code {"username":…,"password":…}}, the format Lambda's Kafka event source mappings use) when a
 * connection authenticates, instead of from the JAAS line: no secret value sits in the application's
 * configuration or environment, and a rotated secret is used from the next connection on.
 *
 * <p>Configured through the Kafka client (the AWS stack sets these on the functions):
 * <pre>
 * sasl.mechanism=SCRAM-SHA-512
 * sasl.client.callback.handler.class=dev.mergeline.s3.SecretsManagerScramCallback
 * sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required secretArn="arn:aws:secretsmanager:…";
 * </pre>
 * JAAS options: {@code secretArn} (required); {@code refreshSeconds} (default 300: a value read
 * longer ago is read again — by wall clock, so an environment restored from a snapshot reads it
 * afresh); {@code region} and {@code endpoint} (default: the SDK's region chain, AWS' endpoint).
 * Credentials come from the SDK's default chain (the function's role).
 */
public final class SecretsManagerScramCallback implements AuthenticateCallbackHandler, AutoCloseable {
    static final String SECRET_ARN = "secretArn";
    static final Duration DEFAULT_REFRESH = Duration.ofMinutes(5);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Clock clock;
    private SecretSource source;
    private String secretArn;
    private Duration refresh = DEFAULT_REFRESH;
    private ScramCredentials cached;
    private Instant readAt;

    /** What Kafka instantiates (by class name). */
    public SecretsManagerScramCallback() {
        this(Clock.systemUTC());
    }

    SecretsManagerScramCallback(Clock clock) {
        this.clock = clock;
    }

    /** The user and password of one read of the secret. */
    record ScramCredentials(String username, char[] password) {}

    /** Reads a secret's string value. */
    interface SecretSource extends AutoCloseable {
        String read(String secretArn);

        @Override
        void close();
    }

    @Override
    public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasEntries) {
        if (jaasEntries.size() != 1) {
            throw new IllegalArgumentException("expected one JAAS login module entry, got " + jaasEntries.size());
        }
        Map<String, ?> options = jaasEntries.get(0).getOptions();
        secretArn = option(options, SECRET_ARN);
        if (secretArn == null || secretArn.isBlank()) {
            throw new IllegalArgumentException("the JAAS line has no " + SECRET_ARN + " option (the ARN of a"
                    + " Secrets Manager secret {\"username\":…,\"password\":…})");
        }
        String seconds = option(options, "refreshSeconds");
        if (seconds != null) {
            refresh = Duration.ofSeconds(Long.parseLong(seconds));
        }
        source = secretsManager(option(options, "region"), option(options, "endpoint"));
    }

    @Override
    public synchronized void handle(Callback[] callbacks) throws IOException, UnsupportedCallbackException {
        for (Callback callback : callbacks) {
            if (callback instanceof NameCallback name) {
                name.setName(credentials().username());
            } else if (callback instanceof PasswordCallback password) {
                password.setPassword(credentials().password());
            } else {
                throw new UnsupportedCallbackException(callback);
            }
        }
    }

    private ScramCredentials credentials() {
        Instant now = clock.instant();
        if (cached == null || !now.isBefore(readAt.plus(refresh))) {
            cached = parse(secretArn, source.read(secretArn));
            readAt = now;
        }
        return cached;
    }

    /** The user and password of a secret string; the message names what is missing, never a value. */
    static ScramCredentials parse(String secretArn, String secretString) {
        JsonNode secret;
        try {
            secret = JSON.readTree(secretString);
        } catch (IOException e) {
            throw new KafkaException("secret " + secretArn + " is not a JSON object {\"username\":…,\"password\":…}");
        }
        JsonNode username = secret == null ? null : secret.get("username");
        JsonNode password = secret == null ? null : secret.get("password");
        if (username == null || !username.isTextual() || password == null || !password.isTextual()) {
            throw new KafkaException("secret " + secretArn + " must hold string fields username and password");
        }
        return new ScramCredentials(username.asText(), password.asText().toCharArray());
    }

    @Override
    public void close() {
        if (source != null) {
            source.close();
        }
    }

    private static String option(Map<String, ?> options, String name) {
        Object value = options.get(name);
        return value == null ? null : value.toString();
    }

    private static SecretSource secretsManager(String region, String endpoint) {
        SecretsManagerClientBuilder builder = SecretsManagerClient.builder()
                .credentialsProvider(DefaultCredentialsProvider.builder().build())
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(5))
                        .socketTimeout(Duration.ofSeconds(10)));
        if (region != null) {
            builder.region(Region.of(region));
        }
        if (endpoint != null) {
            builder.endpointOverride(URI.create(endpoint));
        }
        SecretsManagerClient client = builder.build();
        return new SecretSource() {
            @Override
            public String read(String secretArn) {
                return client.getSecretValue(r -> r.secretId(secretArn)).secretString();
            }

            @Override
            public void close() {
                client.close();
            }
        };
    }
}
