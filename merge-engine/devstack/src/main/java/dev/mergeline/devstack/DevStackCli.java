package dev.mergeline.devstack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Starts, stops and reports the Docker-free stack's infrastructure from a shell:
 *
 * <pre>
 * java -cp &lt;devstack jar&gt;:&lt;kafka-clients and its deps&gt; dev.mergeline.devstack.DevStackCli \
 *     up STATE_DIR [--kafka-port 9092] [--s3-port 4566] [--buckets mergeline,…] [--topics a,b,…]
 * … DevStackCli down STATE_DIR
 * … DevStackCli status STATE_DIR
 * </pre>
 *
 * {@code up} starts whatever is not running yet (Kafka in {@code STATE_DIR/kafka}, S3Mock in
 * {@code STATE_DIR/s3}), creates the topics, leaves both running after it exits and prints
 * {@code kafka.bootstrap.servers=…} and {@code s3.endpoint=…}. {@code down} stops both
 * gracefully. {@code status} prints one line per service; exit status 0 when both run, 3 otherwise.
 * Defaults: ports 9092 and 4566, bucket {@code mergeline}, no topics (auto-creation is on).
 * The classpath: this module's jar plus the entries of its {@code kafka.classpath} resource
 * (which include kafka-clients), e.g. from {@code mvn dependency:build-classpath} on this module.
 */
public final class DevStackCli {

    private DevStackCli() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: DevStackCli up|down|status STATE_DIR [--kafka-port N] [--s3-port N] "
                    + "[--buckets a,b] [--topics a,b]");
            return 64;
        }
        Path state = Path.of(args[1]).toAbsolutePath().normalize();
        Path kafkaDir = state.resolve("kafka");
        Path s3Dir = state.resolve("s3");
        int kafkaPort = 9092;
        int s3Port = 4566;
        List<String> buckets = new ArrayList<>(List.of("mergeline"));
        List<String> topics = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : "";
            switch (args[i]) {
                case "--kafka-port" -> kafkaPort = Integer.parseInt(value);
                case "--s3-port" -> s3Port = Integer.parseInt(value);
                case "--buckets" -> buckets = split(value);
                case "--topics" -> topics = split(value);
                default -> {
                    System.err.println("unknown option " + args[i]);
                    return 64;
                }
            }
            i++;
        }
        switch (args[0]) {
            case "up" -> {
                KafkaBroker kafka = runningKafka(kafkaDir);
                if (kafka == null) {
                    kafka = KafkaBroker.start(kafkaDir, kafkaPort).detach();
                }
                kafka.createTopics(topics.toArray(String[]::new));
                S3MockServer s3 = runningS3(s3Dir);
                if (s3 == null) {
                    s3 = S3MockServer.start(s3Dir, s3Port, buckets.toArray(String[]::new)).detach();
                }
                System.out.println("kafka.bootstrap.servers=" + kafka.bootstrapServers());
                System.out.println("s3.endpoint=" + s3.endpoint());
                System.out.println("state=" + state);
                return 0;
            }
            case "down" -> {
                KafkaBroker kafka = runningKafka(kafkaDir);
                if (kafka != null) {
                    kafka.stop();
                }
                S3MockServer s3 = runningS3(s3Dir);
                if (s3 != null) {
                    s3.stop();
                }
                System.out.println("stopped");
                return 0;
            }
            case "status" -> {
                KafkaBroker kafka = runningKafka(kafkaDir);
                S3MockServer s3 = runningS3(s3Dir);
                System.out.println("kafka " + (kafka == null ? "stopped"
                        : "running " + kafka.bootstrapServers() + " pid " + kafka.process().get().pid()));
                System.out.println("s3 " + (s3 == null ? "stopped"
                        : "running " + s3.endpoint() + " pid " + s3.process().get().pid()));
                return kafka != null && s3 != null ? 0 : 3;
            }
            default -> {
                System.err.println("unknown command " + args[0]);
                return 64;
            }
        }
    }

    private static KafkaBroker runningKafka(Path dir) {
        if (!Files.exists(dir.resolve("kafka-devstack.properties"))) {
            return null;
        }
        KafkaBroker broker = KafkaBroker.attach(dir);
        return broker.isRunning() ? broker : null;
    }

    private static S3MockServer runningS3(Path dir) {
        if (!Files.exists(dir.resolve("s3mock-devstack.properties"))) {
            return null;
        }
        S3MockServer server = S3MockServer.attach(dir);
        return server.isRunning() ? server : null;
    }

    private static List<String> split(String value) {
        return new ArrayList<>(Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList());
    }
}
