package dev.mergeline.devstack;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Quarkus test resource: one {@link KafkaBroker} (a child JVM, state in a fresh temporary
 * directory) per resource lifecycle, i.e. per Quarkus application start of the annotated tests.
 *
 * <pre>{@code
 * @QuarkusTest
 * @WithTestResource(value = KafkaTestResource.class, initArgs = @ResourceArg(name = "topics", value = "merge-requests,merge-failures"))
 * class WorkerTest { … KafkaTestResource.broker().kill(); … }
 * }</pre>
 *
 * <p>{@link #start()} returns {@value #BOOTSTRAP_SERVERS} = {@code 127.0.0.1:<port>}. Init args:
 * {@code topics} (comma-separated, created before the application starts; auto-creation is on
 * anyway), {@code partitions} (for those topics, default 1), {@code port} (default 0 = free port).
 * {@link #stop()} stops the broker and deletes its directory.
 *
 * <p>{@link #broker()} gives tests the running broker (to kill or restart it). It works across
 * class loaders: the state directory travels in the JVM-wide system property
 * {@value #STATE_DIR_PROPERTY} and the handle is {@link KafkaBroker#attach(Path) attached} from it.
 */
public class KafkaTestResource implements QuarkusTestResourceLifecycleManager {

    public static final String BOOTSTRAP_SERVERS = "kafka.bootstrap.servers";
    public static final String STATE_DIR_PROPERTY = "mergeline-devstack.kafka.state-dir";

    private String[] topics = new String[0];
    private int partitions = 1;
    private int port;
    private KafkaBroker broker;

    @Override
    public void init(Map<String, String> initArgs) {
        String list = initArgs.getOrDefault("topics", "");
        topics = Arrays.stream(list.split(",")).map(String::trim).filter(t -> !t.isEmpty()).toArray(String[]::new);
        partitions = Integer.parseInt(initArgs.getOrDefault("partitions", "1"));
        port = Integer.parseInt(initArgs.getOrDefault("port", "0"));
    }

    @Override
    public Map<String, String> start() {
        broker = KafkaBroker.start(ResourceState.newStateDir("mergeline-kafka-"), port);
        broker.createTopics(partitions, topics);
        ResourceState.publish(broker, STATE_DIR_PROPERTY);
        return Map.of(BOOTSTRAP_SERVERS, broker.bootstrapServers());
    }

    @Override
    public void stop() {
        ResourceState.stopAndRemove(broker, STATE_DIR_PROPERTY);
        broker = null;
    }

    /** The broker of the running test resource (from any class loader). */
    public static KafkaBroker broker() {
        return KafkaBroker.attach(ResourceState.published(STATE_DIR_PROPERTY, "KafkaTestResource"));
    }
}
