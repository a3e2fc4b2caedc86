package dev.mergeline.devstack;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * A real single-node Kafka 4.1 broker in combined KRaft mode (broker + controller in one process),
 * run as a child JVM: {@code java -cp <kafka classpath> kafka.Kafka <stateDir>/server.properties}.
 *
 * <p><b>Classpath.</b> The child runs from the jars of {@code org.apache.kafka:kafka_2.13} (and the
 * log4j SLF4J binding) as this module's build resolved them: the build writes their list into the
 * resource {@code dev/mergeline/devstack/kafka.classpath} (maven-dependency-plugin
 * {@code build-classpath}) relative to the local Maven repository, and {@link DevstackArtifacts}
 * turns it into absolute paths. This works the same in a Surefire JVM of this module, in another
 * module's test JVM (which only has {@code mergeline-devstack.jar}; the Kafka server jars are
 * optional dependencies and deliberately never on its classpath) and in a plain {@code java -cp}
 * application. The current JVM's {@code java.class.path} is used only when the resource is absent.
 *
 * <p><b>State.</b> Everything lives under {@code stateDir}: {@code server.properties},
 * {@code log4j2.properties}, {@code data/} (log.dirs, formatted once with
 * {@code kafka.tools.StorageTool format -t <id> -c server.properties --ignore-formatted}),
 * {@code kafka.log} (the child's stdout and stderr, appended across restarts), {@code kafka.pid}
 * and {@code kafka-devstack.properties} (the ports, read by {@link #attach(Path)}). Starting again
 * on the same directory keeps every topic and record.
 *
 * <p><b>Quorum.</b> The controller quorum is the static {@code controller.quorum.voters=1@127.0.0.1:<controller port>}
 * rather than {@code format --standalone} (a dynamic quorum records the controller's endpoint in the
 * metadata log): with static voters a state directory can be started again on other ports.
 *
 * <p>The broker is configured for one node: every internal topic has replication factor 1 and one
 * partition, {@code group.initial.rebalance.delay.ms=0}, {@code auto.create.topics.enable=true},
 * {@code num.partitions=1}. Child JVM flags: {@value #DEFAULT_JVM_OPTS} (override with the system
 * property or environment variable named by {@link #JVM_OPTS_PROPERTY} / {@link #JVM_OPTS_ENV}).
 *
 * <p>A broker started by this JVM is stopped by a shutdown hook if it is still running when the
 * JVM exits normally.
 */
public final class KafkaBroker extends ChildServer {

    /** How long {@link #start} and {@link #restart} wait for the broker to answer. */
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(120);
    /** How long {@link #stop} waits after SIGTERM before SIGKILL. */
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    public static final String DEFAULT_JVM_OPTS = "-Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";
    public static final String JVM_OPTS_PROPERTY = "mergeline-devstack.kafka.jvm-opts";
    public static final String JVM_OPTS_ENV = "MERGELINE_DEVSTACK_KAFKA_JVM_OPTS";

    static final String MAIN_CLASS = "kafka.Kafka";
    static final String STORAGE_TOOL_CLASS = "kafka.tools.StorageTool";

    private final int port;
    private final int controllerPort;

    private KafkaBroker(Path stateDir, int port, int controllerPort) {
        super(stateDir, "kafka", STOP_TIMEOUT);
        this.port = port;
        this.controllerPort = controllerPort;
    }

    /**
     * Starts a broker whose state lives in {@code stateDir} (created if missing; an existing one is
     * reused with its data) and waits until it answers.
     *
     * @param port PLAINTEXT port on 127.0.0.1; 0 picks a free one
     */
    public static KafkaBroker start(Path stateDir, int port) {
        return start(stateDir, port, DEFAULT_START_TIMEOUT);
    }

    public static KafkaBroker start(Path stateDir, int port, Duration timeout) {
        Path dir = stateDir.toAbsolutePath().normalize();
        int brokerPort = port == 0 ? ChildProcess.freePort() : port;
        int ctlPort = ChildProcess.freePort();
        while (ctlPort == brokerPort) {
            ctlPort = ChildProcess.freePort();
        }
        KafkaBroker broker = new KafkaBroker(dir, brokerPort, ctlPort);
        broker.launch(timeout);
        return broker;
    }

    /**
     * A handle on a broker started elsewhere (another JVM or class loader) from its state
     * directory; its methods act on the process recorded there.
     */
    public static KafkaBroker attach(Path stateDir) {
        Path dir = stateDir.toAbsolutePath().normalize();
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve("kafka-devstack.properties"))) {
            props.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("no broker state in " + dir, e);
        }
        return new KafkaBroker(dir, Integer.parseInt(props.getProperty("port")),
                Integer.parseInt(props.getProperty("controller.port")));
    }

    /** {@code 127.0.0.1:<port>}. */
    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public int controllerPort() {
        return controllerPort;
    }

    /** Creates topics with one partition each; existing topics are left alone. */
    public void createTopics(String... topics) {
        createTopics(1, topics);
    }

    /** Creates topics with {@code partitions} partitions (replication factor 1); existing ones are left alone. */
    public void createTopics(int partitions, String... topics) {
        if (topics.length == 0) {
            return;
        }
        List<NewTopic> newTopics = new ArrayList<>();
        for (String topic : topics) {
            newTopics.add(new NewTopic(topic, partitions, (short) 1));
        }
        try (Admin admin = admin(Duration.ofSeconds(30))) {
            var futures = admin.createTopics(newTopics).values();
            for (var entry : futures.entrySet()) {
                try {
                    entry.getValue().get(60, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + entry.getKey(), e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("timed out creating topics " + String.join(",", topics), e);
        }
    }

    /**
     * A new admin client for this broker (the caller closes it).
     *
     * @param apiTimeout {@code default.api.timeout.ms}
     */
    public Admin admin(Duration apiTimeout) {
        Map<String, Object> config = Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG, "mergeline-devstack",
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(apiTimeout.toMillis(), 30_000),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) apiTimeout.toMillis(),
                AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
        return Admin.create(config);
    }

    /**
     * {@link #stop()} (a no-op after {@link #kill()}) then start again on the same ports and state
     * directory, waiting until the broker answers.
     */
    public synchronized void restart() {
        restart(DEFAULT_START_TIMEOUT);
    }

    public synchronized void restart(Duration timeout) {
        stop();
        launch(timeout);
    }

    /**
     * Lets the broker outlive this JVM: removes the shutdown hook that would stop it at exit (for
     * launchers that start the stack and return). Stop it later through {@link #attach(Path)}.
     */
    public synchronized KafkaBroker detach() {
        removeShutdownHook();
        return this;
    }

    @Override
    public String toString() {
        return "KafkaBroker[" + bootstrapServers() + ", state=" + stateDir() + "]";
    }

    @Override
    String description() {
        return "Kafka broker on " + bootstrapServers();
    }

    @Override
    void requirePortsFree() {
        ChildProcess.requireFree(port, "Kafka broker");
        ChildProcess.requireFree(controllerPort, "Kafka controller");
    }

    @Override
    Process startProcess(long deadline) throws IOException {
        Files.createDirectories(stateDir().resolve("data"));
        writeConfig();
        String classpath = DevstackArtifacts.kafkaClasspath().stream()
                .map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator));
        if (!Files.exists(stateDir().resolve("data").resolve("meta.properties"))) {
            format(classpath, deadline);
        }
        List<String> command = javaCommand(classpath);
        command.add(MAIN_CLASS);
        command.add(stateDir().resolve("server.properties").toString());
        return ChildProcess.launch(command, stateDir(), logFile(), Map.of());
    }

    private List<String> javaCommand(String classpath) {
        List<String> command = javaCommand(JVM_OPTS_PROPERTY, JVM_OPTS_ENV, DEFAULT_JVM_OPTS);
        command.add("-Dlog4j2.configurationFile=" + stateDir().resolve("log4j2.properties").toUri());
        command.add("-Dkafka.logs.dir=" + stateDir().resolve("logs"));
        command.add("-cp");
        command.add(classpath);
        return command;
    }

    private void format(String classpath, long deadline) throws IOException {
        List<String> command = javaCommand(classpath);
        command.add(STORAGE_TOOL_CLASS);
        command.add("format");
        command.add("--cluster-id");
        command.add(Uuid.randomUuid().toString());
        command.add("--config");
        command.add(stateDir().resolve("server.properties").toString());
        command.add("--ignore-formatted");
        Process process = ChildProcess.launch(command, stateDir(), logFile(), Map.of());
        long remaining = Math.max(1, deadline - System.nanoTime());
        boolean exited;
        try {
            exited = process.waitFor(remaining, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        if (!exited) {
            process.destroyForcibly();
            throw new IllegalStateException(ChildProcess.failure("Kafka storage format", logFile(), "timed out"));
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException(ChildProcess.failure("Kafka storage format", logFile(),
                    "exit status " + process.exitValue()));
        }
    }

    @Override
    void awaitReady(Process process, long deadline) {
        // First wait for the port (cheap), then for an answer to DescribeCluster naming this node.
        while (!ChildProcess.listening(port)) {
            checkAlive(process, deadline, "port " + port + " not open");
            ChildProcess.sleep(100);
        }
        try (Admin admin = admin(Duration.ofSeconds(5))) {
            String lastError = "no answer";
            while (true) {
                checkAlive(process, deadline, lastError);
                try {
                    var nodes = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                    if (!nodes.isEmpty()) {
                        return;
                    }
                    lastError = "no brokers in metadata";
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    lastError = String.valueOf(e.getCause() != null ? e.getCause() : e);
                }
                ChildProcess.sleep(200);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private void writeConfig() throws IOException {
        String dataDir = stateDir().resolve("data").toString();
        String server = String.join("\n",
                "# Written by dev.mergeline.devstack.KafkaBroker at each start; edits are overwritten.",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "log.dirs=" + escape(dataDir),
                "num.partitions=1",
                "auto.create.topics.enable=true",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "num.network.threads=2",
                "num.io.threads=2",
                "num.recovery.threads.per.data.dir=1",
                "background.threads=2",
                "log.cleaner.threads=1",
                "");
        Files.writeString(stateDir().resolve("server.properties"), server, StandardCharsets.UTF_8);
        String log4j = String.join("\n",
                "status = warn",
                "appender.stdout.type = Console",
                "appender.stdout.name = STDOUT",
                "appender.stdout.layout.type = PatternLayout",
                "appender.stdout.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.stdout.ref = STDOUT",
                "logger.clients.name = org.apache.kafka.clients",
                "logger.clients.level = WARN",
                "logger.config.name = org.apache.kafka.common.config.AbstractConfig",
                "logger.config.level = WARN",
                "");
        Files.writeString(stateDir().resolve("log4j2.properties"), log4j, StandardCharsets.UTF_8);
        String state = "port=" + port + "\ncontroller.port=" + controllerPort + "\n";
        Files.writeString(stateDir().resolve("kafka-devstack.properties"), state, StandardCharsets.UTF_8);
    }

    /** Escapes a value for a .properties file (backslashes, as on Windows paths). */
    private static String escape(String value) {
        return value.replace("\\", "\\\\");
    }
}
