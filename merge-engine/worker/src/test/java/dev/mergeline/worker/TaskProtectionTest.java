package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link TaskProtection} against a real HTTP server on loopback standing in for the ECS container
 * agent: the exact requests it sends, in order, and what it does when the agent refuses or is absent.
 */
class TaskProtectionTest {

    record Request(String method, String path, String contentType, String body) {
    }

    private HttpServer agent;
    private final BlockingQueue<Request> requests = new LinkedBlockingQueue<>();
    private volatile int status = 200;
    private volatile String answer = "{\"protection\":{\"ProtectionEnabled\":true,\"TaskArn\":\"arn:aws:ecs:x:1:task/c/t\"}}";

    @BeforeEach
    void startAgent() throws IOException {
        agent = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        agent.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            requests.add(new Request(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                    exchange.getRequestHeaders().getFirst("Content-Type"), new String(body, StandardCharsets.UTF_8)));
            byte[] out = answer.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, out.length);
            exchange.getResponseBody().write(out);
            exchange.close();
        });
        agent.start();
    }

    @AfterEach
    void stopAgent() {
        agent.stop(0);
    }

    /** What ECS injects: the agent's base URI, e.g. http://169.254.170.2/api/&lt;task id&gt;. */
    private String agentUri() {
        return "http://127.0.0.1:" + agent.getAddress().getPort() + "/api/0123456789abcdef-task";
    }

    private TaskProtection protection(Duration releaseDelay) {
        return new TaskProtection(Optional.of(agentUri()), 90, releaseDelay);
    }

    private Request next() throws InterruptedException {
        Request r = requests.poll(30, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("the agent received no request");
        }
        return r;
    }

    @Test
    void protectsBeforeAJobAndClearsAfterTheReleaseDelay() throws Exception {
        TaskProtection p = protection(Duration.ofMillis(300));
        p.protect("job-1");
        assertEquals(new Request("PUT", "/api/0123456789abcdef-task/task-protection/v1/state", "application/json",
                "{\"ProtectionEnabled\":true,\"ExpiresInMinutes\":90}"), next());
        long released = System.nanoTime();
        p.release("job-1");
        assertNull(requests.poll(150, TimeUnit.MILLISECONDS), "cleared before the offset commit had time");
        assertEquals(new Request("PUT", "/api/0123456789abcdef-task/task-protection/v1/state", "application/json",
                "{\"ProtectionEnabled\":false}"), next());
        long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - released);
        assertEquals(true, waitedMillis >= 300, "released after " + waitedMillis + " ms");
        assertNull(requests.poll(200, TimeUnit.MILLISECONDS));
        p.close();
    }

    @Test
    void aJobStartingWithinTheDelayKeepsTheProtection() throws Exception {
        TaskProtection p = protection(Duration.ofMillis(400));
        p.protect("job-1");
        next();
        p.release("job-1");
        p.protect("job-2"); // the next record arrived at once
        assertEquals("{\"ProtectionEnabled\":true,\"ExpiresInMinutes\":90}", next().body());
        // the cancelled release of job-1 never clears job-2's protection
        assertNull(requests.poll(800, TimeUnit.MILLISECONDS));
        p.release("job-2");
        assertEquals("{\"ProtectionEnabled\":false}", next().body());
        p.close();
    }

    @Test
    void aRefusingOrMissingAgentNeverFailsTheJob() throws Exception {
        status = 400;
        answer = "{\"error\":{\"Code\":\"InvalidParameterValue\",\"Message\":\"bad\"}}";
        TaskProtection p = protection(Duration.ZERO);
        p.protect("job-1"); // logged, not thrown
        assertEquals("PUT", next().method());
        agent.stop(0);
        p.release("job-1"); // connection refused: logged, not thrown
        p.protect("job-2");
        p.close();
    }

    @Test
    void withoutAnAgentUriNothingIsSent() throws Exception {
        TaskProtection p = new TaskProtection(Optional.empty(), 90, Duration.ZERO);
        p.protect("job-1");
        p.release("job-1");
        assertNull(requests.poll(300, TimeUnit.MILLISECONDS));
        p.close();
        // blank (as an unset variable can arrive) is the same as unset
        TaskProtection blank = new TaskProtection(Optional.of("  "), 90, Duration.ZERO);
        blank.protect("job-1");
        blank.release("job-1");
        assertNull(requests.poll(300, TimeUnit.MILLISECONDS));
    }

    @Test
    void expiryOutsideEcsBoundsIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new TaskProtection(Optional.of(agentUri()), 0, Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> new TaskProtection(Optional.of(agentUri()), 2881, Duration.ZERO));
        assertEquals(URI.create("http://169.254.170.2/api/x/task-protection/v1/state"),
                TaskProtection.stateEndpoint("http://169.254.170.2/api/x/"));
        assertEquals(List.of(), List.copyOf(requests));
    }
}
