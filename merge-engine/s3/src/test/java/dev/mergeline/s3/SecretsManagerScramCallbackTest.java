package dev.mergeline.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.apache.kafka.common.security.scram.internals.ScramSaslClient;
import org.apache.kafka.common.security.scram.internals.ScramSaslServer;
import org.apache.kafka.common.security.scram.internals.ScramServerCallbackHandler;
import org.apache.kafka.common.security.token.delegation.internals.DelegationTokenCache;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The callback against Kafka's own SCRAM-SHA-512 server, with the secret served over the Secrets
 * Manager JSON protocol (the real SDK client calls a local HTTP server that answers GetSecretValue).
 */
class SecretsManagerScramCallbackTest {
    private static final String ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-AbCdEf";
    private static final ScramMechanism SHA512 = ScramMechanism.SCRAM_SHA_512;

    private HttpServer secretsManager;
    private final AtomicReference<String> secretString = new AtomicReference<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startSecretsManager() throws IOException {
        secretsManager = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        secretsManager.createContext("/", exchange -> {
            String target = exchange.getRequestHeaders().getFirst("X-Amz-Target");
            requests.add(target + " " + new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            String body = "{\"ARN\":\"" + ARN + "\",\"Name\":\"kafka\",\"SecretString\":"
                    + quote(secretString.get()) + "}";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.1");
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        secretsManager.start();
        System.setProperty("aws.accessKeyId", "test");
        System.setProperty("aws.secretAccessKey", "test");
    }

    @AfterEach
    void stop() {
        secretsManager.stop(0);
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
    }

    @Test
    void authenticatesAsTheSecretsUserAgainstKafkasScramServer() throws Exception {
        secretString.set("{\"username\":\"alice\",\"password\":\"alice-secret\"}");
        try (SecretsManagerScramCallback callback = configured(new SecretsManagerScramCallback())) {
            SaslServer server = scramServer("alice", "alice-secret");
            exchange(new ScramSaslClient(SHA512, callback), server);

            assertTrue(server.isComplete());
            assertEquals("alice", server.getAuthorizationID());
            assertEquals(1, requests.size(), requests::toString);
            assertEquals("secretsmanager.GetSecretValue {\"SecretId\":\"" + ARN + "\"}", requests.get(0));
        }
    }

    @Test
    void aWrongPasswordInTheSecretFailsAuthentication() throws Exception {
        secretString.set("{\"username\":\"alice\",\"password\":\"stale\"}");
        try (SecretsManagerScramCallback callback = configured(new SecretsManagerScramCallback())) {
            SaslServer server = scramServer("alice", "alice-secret");
            SaslException e = assertThrows(SaslException.class,
                    () -> exchange(new ScramSaslClient(SHA512, callback), server));
            assertTrue(e.getMessage().contains("Invalid client credentials"), e::getMessage);
            assertFalse(server.isComplete());
        }
    }

    @Test
    void theSecretIsReadAgainOnceTheRefreshIntervalHasPassed() throws Exception {
        MutableClock clock = new MutableClock();
        secretString.set("{\"username\":\"alice\",\"password\":\"first\"}");
        try (SecretsManagerScramCallback callback = configured(new SecretsManagerScramCallback(clock))) {
            assertEquals("first", password(callback));
            secretString.set("{\"username\":\"alice\",\"password\":\"rotated\"}");
            clock.advance(SecretsManagerScramCallback.DEFAULT_REFRESH.minusSeconds(1));
            assertEquals("first", password(callback));
            assertEquals(1, requests.size());
            clock.advance(Duration.ofSeconds(1));
            assertEquals("rotated", password(callback));
            assertEquals(2, requests.size());
        }
    }

    @Test
    void aSecretWithoutUserOrPasswordIsRefusedWithoutShowingItsValue() {
        KafkaException e = assertThrows(KafkaException.class,
                () -> SecretsManagerScramCallback.parse(ARN, "{\"user\":\"alice\",\"password\":\"hunter2\"}"));
        assertEquals("secret " + ARN + " must hold string fields username and password", e.getMessage());
        e = assertThrows(KafkaException.class, () -> SecretsManagerScramCallback.parse(ARN, "hunter2"));
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    }

    @Test
    void aJaasLineWithoutSecretArnIsAConfigurationError() {
        List<AppConfigurationEntry> entries = jaas("org.apache.kafka.common.security.scram.ScramLoginModule required;");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SecretsManagerScramCallback().configure(Map.of(), SHA512.mechanismName(), entries));
        assertTrue(e.getMessage().contains("secretArn"), e.getMessage());
    }

    private SecretsManagerScramCallback configured(SecretsManagerScramCallback callback) {
        callback.configure(Map.of(), SHA512.mechanismName(), jaas(
                "org.apache.kafka.common.security.scram.ScramLoginModule required secretArn=\"" + ARN
                        + "\" region=\"us-east-1\" endpoint=\"http://127.0.0.1:" + secretsManager.getAddress().getPort()
                        + "\";"));
        return callback;
    }

    private static List<AppConfigurationEntry> jaas(String line) {
        return JaasContext.loadClientContext(Map.of("sasl.jaas.config", new Password(line))).configurationEntries();
    }

    private static String password(SecretsManagerScramCallback callback) throws Exception {
        NameCallback name = new NameCallback("user");
        PasswordCallback password = new PasswordCallback("password", false);
        callback.handle(new Callback[] {name, password});
        return new String(password.getPassword());
    }

    /** Kafka's broker-side SCRAM server with one user, as a broker formatted with --add-scram has it. */
    private static SaslServer scramServer(String user, String password) throws Exception {
        CredentialCache credentials = new CredentialCache();
        CredentialCache.Cache<ScramCredential> cache = credentials.createCache(SHA512.mechanismName(), ScramCredential.class);
        cache.put(user, new ScramFormatter(SHA512).generateCredential(password, 4096));
        ScramServerCallbackHandler handler =
                new ScramServerCallbackHandler(cache, new DelegationTokenCache(ScramMechanism.mechanismNames()));
        handler.configure(Map.of(), SHA512.mechanismName(), List.of());
        return new ScramSaslServer(SHA512, Map.of(), handler);
    }

    private static void exchange(SaslClient client, SaslServer server) throws Exception {
        byte[] response = client.evaluateChallenge(new byte[0]);
        while (!client.isComplete()) {
            byte[] challenge = server.evaluateResponse(response);
            response = client.evaluateChallenge(challenge);
        }
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static final class MutableClock extends Clock {
        private Instant now = Instant.parse("2026-12-03T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
