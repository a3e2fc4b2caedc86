package dev.mergeline.devstack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What {@link KafkaTestResource} and {@link S3MockTestResource} share: a fresh state directory per
 * start, published in a JVM-wide system property so that tests in any class loader find the server,
 * and removed with the server at stop.
 */
final class ResourceState {

    private ResourceState() {}

    /** A new temporary state directory named {@code <prefix>…}. */
    static Path newStateDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Publishes {@code server}'s state directory under {@code property}. */
    static void publish(ChildServer server, String property) {
        System.setProperty(property, server.stateDir().toString());
    }

    /** Stops {@code server} (null: nothing runs), deletes its state and withdraws its publication. */
    static void stopAndRemove(ChildServer server, String property) {
        if (server == null) {
            return;
        }
        server.stop();
        ChildProcess.deleteTree(server.stateDir());
        if (server.stateDir().toString().equals(System.getProperty(property))) {
            System.clearProperty(property);
        }
    }

    /** The published state directory; {@code resource} names the test resource in the error when none runs. */
    static Path published(String property, String resource) {
        String dir = System.getProperty(property);
        if (dir == null) {
            throw new IllegalStateException("no " + resource + " is running");
        }
        return Path.of(dir);
    }
}
