package dev.mergeline.functions;

import dev.mergeline.devstack.S3MockTestResource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.Map;

/**
 * S3Mock, as {@link S3MockTestResource} starts it, with the application's S3 endpoint moved to a
 * free port where the test puts a {@code FaultProxy} in front of S3Mock ({@link #proxyPort()}).
 * The application's S3 client connects only when validation first runs, after the test started the
 * proxy; fixtures are uploaded to S3Mock directly ({@code PipelineFixtures.s3()}), past the proxy.
 */
public class S3BehindFaultProxyTestResource extends S3MockTestResource {
    /** Carries the port across class loaders, as the devstack resources carry their state. */
    static final String PORT_PROPERTY = "mergeline-test.s3-fault-proxy.port";

    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        int port = freePort();
        System.setProperty(PORT_PROPERTY, Integer.toString(port));
        config.put(ENDPOINT, "http://127.0.0.1:" + port);
        return config;
    }

    @Override
    public void stop() {
        System.clearProperty(PORT_PROPERTY);
        super.stop();
    }

    /** Where the application expects S3: the port the test's proxy must listen on. */
    static int proxyPort() {
        String port = System.getProperty(PORT_PROPERTY);
        if (port == null) {
            throw new IllegalStateException("no S3BehindFaultProxyTestResource is running");
        }
        return Integer.parseInt(port);
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
