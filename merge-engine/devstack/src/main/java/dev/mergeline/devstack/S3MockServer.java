package dev.mergeline.devstack;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A real S3 API server, Adobe S3Mock 4.11 (a Spring Boot application), run as a child process:
 * {@code java -jar s3mock-4.11.0-exec.jar --key=value…}. It runs out of process because S3Mock
 * in-JVM brings Spring Boot and Tomcat, which clash with Quarkus.
 *
 * <p><b>Jar lookup.</b> {@code com.adobe.testing:s3mock:4.11.0:exec} is an optional runtime
 * dependency of this module: the build resolves it into the local Maven repository and records its
 * repository-relative path in the resource {@code dev/mergeline/devstack/s3mock.classpath};
 * {@link DevstackArtifacts} resolves that against the local repository at run time (see there). So
 * tests in other modules find the 60 MB jar without copying it and without it ever being on a
 * classpath.
 *
 * <p><b>Configuration</b> (S3Mock 4.x property names, passed as command-line arguments, which
 * Spring Boot ranks above everything else): {@code com.adobe.testing.s3mock.httpPort} (plain HTTP,
 * the {@link #endpoint()}), {@code server.port} (S3Mock's HTTPS connector, moved to a free port so
 * that it never clashes; nothing uses it), {@code com.adobe.testing.s3mock.store.root}
 * ({@code stateDir/data}), {@code com.adobe.testing.s3mock.store.initialBuckets} (comma-separated),
 * {@code com.adobe.testing.s3mock.store.retainFilesOnExit=true} (objects survive a stop, so
 * {@link #restart()} keeps them). The region is S3Mock's default, {@value #REGION}.
 *
 * <p><b>Clients.</b> S3Mock checks no signatures: use any static credentials, by convention
 * {@value #ACCESS_KEY}/{@value #SECRET_KEY}, region {@value #REGION}, the {@link #endpoint()} as
 * endpoint override, and <em>path-style</em> access (S3Mock does not serve virtual-host buckets).
 *
 * <p>Files: {@code stateDir/s3mock.log} (stdout and stderr, appended), {@code stateDir/s3mock.pid},
 * {@code stateDir/s3mock-devstack.properties} (ports, for {@link #attach(Path)}). Child JVM flags:
 * {@value #DEFAULT_JVM_OPTS}, overridable with {@link #JVM_OPTS_PROPERTY} / {@link #JVM_OPTS_ENV}.
 * A server started by this JVM is stopped by a shutdown hook if it still runs at normal JVM exit.
 */
public final class S3MockServer extends ChildServer {

    public static final String ACCESS_KEY = "foo";
    public static final String SECRET_KEY = "bar";
    public static final String REGION = "us-east-1";
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(120);
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
    public static final String DEFAULT_JVM_OPTS = "-Xms32m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";
    public static final String JVM_OPTS_PROPERTY = "mergeline-devstack.s3mock.jvm-opts";
    public static final String JVM_OPTS_ENV = "MERGELINE_DEVSTACK_S3MOCK_JVM_OPTS";

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();

    private final int httpPort;
    private final int httpsPort;
    private final List<String> initialBuckets;

    private S3MockServer(Path stateDir, int httpPort, int httpsPort, List<String> initialBuckets) {
        super(stateDir, "s3mock", STOP_TIMEOUT);
        this.httpPort = httpPort;
        this.httpsPort = httpsPort;
        this.initialBuckets = List.copyOf(initialBuckets);
    }

    /**
     * Starts S3Mock with its data in {@code stateDir} (created if missing; existing buckets and
     * objects are served again) and waits until it answers and every initial bucket exists.
     *
     * @param httpPort HTTP port on 127.0.0.1; 0 picks a free one
     */
    public static S3MockServer start(Path stateDir, int httpPort, String... initialBuckets) {
        return start(stateDir, httpPort, DEFAULT_START_TIMEOUT, initialBuckets);
    }

    public static S3MockServer start(Path stateDir, int httpPort, Duration timeout, String... initialBuckets) {
        Path dir = stateDir.toAbsolutePath().normalize();
        int port = httpPort == 0 ? ChildProcess.freePort() : httpPort;
        int https = ChildProcess.freePort();
        while (https == port) {
            https = ChildProcess.freePort();
        }
        S3MockServer server = new S3MockServer(dir, port, https, Arrays.asList(initialBuckets));
        server.launch(timeout);
        return server;
    }

    /** A handle on a server started elsewhere (another JVM or class loader), from its state directory. */
    public static S3MockServer attach(Path stateDir) {
        Path dir = stateDir.toAbsolutePath().normalize();
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve("s3mock-devstack.properties"))) {
            props.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("no S3Mock state in " + dir, e);
        }
        String buckets = props.getProperty("initial.buckets", "");
        return new S3MockServer(dir, Integer.parseInt(props.getProperty("http.port")),
                Integer.parseInt(props.getProperty("https.port")),
                buckets.isEmpty() ? List.of() : Arrays.asList(buckets.split(",")));
    }

    /** {@code http://127.0.0.1:<port>}: the S3 endpoint (path-style). */
    public String endpoint() {
        return "http://127.0.0.1:" + httpPort;
    }

    public int port() {
        return httpPort;
    }

    public List<String> initialBuckets() {
        return initialBuckets;
    }

    /** Where S3Mock keeps buckets and objects: {@code stateDir/data}. */
    public Path dataDir() {
        return stateDir().resolve("data");
    }

    /** {@link #stop()} (a no-op after {@link #kill()}) then start again on the same port and data. */
    public synchronized void restart() {
        stop();
        launch(DEFAULT_START_TIMEOUT);
    }

    /**
     * Lets the server outlive this JVM: removes the shutdown hook that would stop it at exit (for
     * launchers that start the stack and return). Stop it later through {@link #attach(Path)}.
     */
    public synchronized S3MockServer detach() {
        removeShutdownHook();
        return this;
    }

    @Override
    public String toString() {
        return "S3MockServer[" + endpoint() + ", state=" + stateDir() + "]";
    }

    @Override
    String description() {
        return "S3Mock on " + endpoint();
    }

    @Override
    void requirePortsFree() {
        ChildProcess.requireFree(httpPort, "S3Mock");
    }

    @Override
    Process startProcess(long deadline) throws IOException {
        Files.createDirectories(dataDir());
        String state = "http.port=" + httpPort + "\nhttps.port=" + httpsPort
                + "\ninitial.buckets=" + String.join(",", initialBuckets) + "\n";
        Files.writeString(stateDir().resolve("s3mock-devstack.properties"), state, StandardCharsets.UTF_8);
        List<String> command = javaCommand(JVM_OPTS_PROPERTY, JVM_OPTS_ENV, DEFAULT_JVM_OPTS);
        command.add("-jar");
        command.add(DevstackArtifacts.s3MockJar().toString());
        command.add("--com.adobe.testing.s3mock.httpPort=" + httpPort);
        command.add("--server.port=" + httpsPort);
        command.add("--com.adobe.testing.s3mock.store.root=" + dataDir());
        command.add("--com.adobe.testing.s3mock.store.retainFilesOnExit=true");
        if (!initialBuckets.isEmpty()) {
            command.add("--com.adobe.testing.s3mock.store.initialBuckets=" + String.join(",", initialBuckets));
        }
        command.add("--spring.main.banner-mode=off");
        return ChildProcess.launch(command, stateDir(), logFile(), Map.of());
    }

    @Override
    void awaitReady(Process process, long deadline) {
        String lastError = "port " + httpPort + " not open";
        while (!ChildProcess.listening(httpPort)) {
            checkAlive(process, deadline, lastError);
            ChildProcess.sleep(100);
        }
        List<String> paths = new ArrayList<>();
        paths.add("/");
        for (String bucket : initialBuckets) {
            paths.add("/" + bucket);
        }
        for (String path : paths) {
            while (true) {
                checkAlive(process, deadline, lastError);
                try {
                    HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint() + path))
                            .method(path.equals("/") ? "GET" : "HEAD",
                                    HttpRequest.BodyPublishers.noBody())
                            .timeout(Duration.ofSeconds(5))
                            .build();
                    int status = HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                    if (status == 200) {
                        break;
                    }
                    lastError = (path.equals("/") ? "ListBuckets" : "HeadBucket " + path) + " answered " + status;
                } catch (IOException e) {
                    lastError = e.toString();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
                ChildProcess.sleep(200);
            }
        }
    }
}
