package dev.mergeline.functions;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockServer;
import dev.mergeline.devstack.S3MockTestResource;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged merge worker ({@code quarkus-run.jar}) as a child JVM, as it is deployed: started
 * with environment variables, stopped with SIGTERM or killed with SIGKILL. Its log goes to
 * {@code functions/target/worker-logs/<name>.log}.
 */
final class WorkerProcess implements AutoCloseable {
    static final Path JAR = Path.of("../merge-engine/worker/target/quarkus-app/quarkus-run.jar").toAbsolutePath()
            .normalize();

    private final String name;
    private final Process process;
    private final Path log;
    private final Path scratch;

    private WorkerProcess(String name, Process process, Path log, Path scratch) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.scratch = scratch;
    }

    /**
     * Starts a worker against the test resources' Kafka and S3Mock; {@code overrides} (environment
     * variables, e.g. {@code MERGELINE_WORKER_TEST_DELAY_AFTER_DOWNLOAD}) win over the defaults.
     * The consumer's session timeout is 6 s (the broker's minimum), so that a killed worker's
     * partition moves on quickly, and offsets are committed every second.
     */
    static WorkerProcess start(String name, Map<String, String> overrides) throws IOException {
        assertTrue(Files.exists(JAR), "build the worker first (./mvnw -B install -pl merge-engine/worker -am): " + JAR);
        Path logs = Files.createDirectories(Path.of("target", "worker-logs"));
        Path log = logs.resolve(name + ".log");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx384m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-Dmp.messaging.incoming.merge-requests.session.timeout.ms=6000",
                "-Dmp.messaging.incoming.merge-requests.heartbeat.interval.ms=1000",
                // the throttled commit strategy commits this often (default 5 s): tests wait for commits
                "-Dmp.messaging.incoming.merge-requests.auto.commit.interval.ms=1000",
                "-jar", JAR.toString());
        Map<String, String> env = new LinkedHashMap<>();
        env.put("KAFKA_BOOTSTRAP_SERVERS", KafkaTestResource.broker().bootstrapServers());
        env.put("MERGELINE_S3_ENDPOINT", S3MockTestResource.server().endpoint());
        env.put("MERGELINE_S3_PATH_STYLE", "true");
        env.put("MERGELINE_S3_ACCESS_KEY", S3MockServer.ACCESS_KEY);
        env.put("MERGELINE_S3_SECRET_KEY", S3MockServer.SECRET_KEY);
        Path scratch = Files.createTempDirectory("mergeline-scratch-");
        env.put("MERGELINE_WORKER_SCRATCH_DIR", scratch.toString());
        env.put("QUARKUS_HTTP_PORT", Integer.toString(port));
        env.putAll(overrides);
        pb.environment().putAll(env);
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        return new WorkerProcess(name, pb.start(), log, scratch);
    }

    String name() {
        return name;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Waits until the log contains {@code text}. */
    void awaitLog(String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (logText().contains(text)) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError("worker " + name + " exited (" + process.exitValue() + ") before logging '"
                        + text + "':\n" + tail());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("worker " + name + " did not log '" + text + "' within " + timeout + ":\n" + tail());
    }

    boolean logged(String text) {
        return logText().contains(text);
    }

    /** How many log lines contain {@code text}. */
    long count(String text) {
        return logText().lines().filter(l -> l.contains(text)).count();
    }

    /** SIGKILL, as a crash or an OOM kill would: no shutdown hook runs. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, as an orchestrator stopping the task; returns immediately. */
    void terminate() {
        process.destroy();
    }

    /** Waits for the process to exit; true if it did within {@code timeout}. */
    boolean awaitExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** SIGTERM, then SIGKILL if it has not exited after 60 s; removes its scratch directory. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                kill();
            }
        }
        try (var paths = Files.walk(scratch)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp directory; best effort
        }
    }

    String tail() {
        List<String> lines = logText().lines().toList();
        return name + ": …\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }
}
