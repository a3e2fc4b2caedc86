package dev.mergeline.devstack;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Quarkus test resource: one {@link S3MockServer} (a child JVM, data in a fresh temporary
 * directory) per resource lifecycle, with bucket {@value #BUCKET}.
 *
 * <p>{@link #start()} returns {@value #ENDPOINT} = {@code http://127.0.0.1:<port>},
 * {@value #PATH_STYLE} = {@code true}, {@value #BUCKET_KEY} = {@value #BUCKET},
 * {@value #REGION_KEY} = {@value S3MockServer#REGION}. Credentials are not checked: clients use
 * any static pair, by convention {@value S3MockServer#ACCESS_KEY}/{@value S3MockServer#SECRET_KEY}.
 * Init args: {@code buckets} (comma-separated, further buckets created at start; {@value #BUCKET}
 * always is), {@code port} (default 0 = free port). {@link #stop()} stops the server and deletes
 * its directory.
 *
 * <p>{@link #server()} gives tests the running server from any class loader (the state directory
 * travels in the system property {@value #STATE_DIR_PROPERTY}).
 */
public class S3MockTestResource implements QuarkusTestResourceLifecycleManager {

    public static final String ENDPOINT = "mergeline.s3.endpoint";
    public static final String PATH_STYLE = "mergeline.s3.path-style";
    public static final String BUCKET_KEY = "mergeline.bucket";
    public static final String REGION_KEY = "mergeline.s3.region";
    public static final String ACCESS_KEY_KEY = "mergeline.s3.access-key";
    public static final String SECRET_KEY_KEY = "mergeline.s3.secret-key";
    public static final String BUCKET = "mergeline";
    public static final String STATE_DIR_PROPERTY = "mergeline-devstack.s3mock.state-dir";

    private final Set<String> buckets = new LinkedHashSet<>(Set.of(BUCKET));
    private int port;
    private S3MockServer server;

    @Override
    public void init(Map<String, String> initArgs) {
        Arrays.stream(initArgs.getOrDefault("buckets", "").split(","))
                .map(String::trim).filter(b -> !b.isEmpty()).forEach(buckets::add);
        port = Integer.parseInt(initArgs.getOrDefault("port", "0"));
    }

    @Override
    public Map<String, String> start() {
        server = S3MockServer.start(ResourceState.newStateDir("mergeline-s3mock-"), port,
                buckets.toArray(String[]::new));
        ResourceState.publish(server, STATE_DIR_PROPERTY);
        return Map.of(
                ENDPOINT, server.endpoint(),
                PATH_STYLE, "true",
                BUCKET_KEY, BUCKET,
                REGION_KEY, S3MockServer.REGION,
                ACCESS_KEY_KEY, S3MockServer.ACCESS_KEY,
                SECRET_KEY_KEY, S3MockServer.SECRET_KEY);
    }

    @Override
    public void stop() {
        ResourceState.stopAndRemove(server, STATE_DIR_PROPERTY);
        server = null;
    }

    /** The server of the running test resource (from any class loader). */
    public static S3MockServer server() {
        return S3MockServer.attach(ResourceState.published(STATE_DIR_PROPERTY, "S3MockTestResource"));
    }
}
