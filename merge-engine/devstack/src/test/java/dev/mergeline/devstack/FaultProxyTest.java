package dev.mergeline.devstack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.mergeline.devstack.FaultProxy.Fault;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** FaultProxy in front of a plain HTTP server: pass-through, each fault kind, rates, healing. */
class FaultProxyTest {
    private static final byte[] BODY = new byte[100_000];
    private static HttpServer upstream;
    private static final AtomicInteger upstreamRequests = new AtomicInteger();
    private static FaultProxy proxy;
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws IOException {
        Arrays.fill(BODY, (byte) 'x');
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        upstream.createContext("/", exchange -> {
            upstreamRequests.incrementAndGet();
            byte[] in = exchange.getRequestBody().readAllBytes();
            byte[] out = "PUT".equals(exchange.getRequestMethod()) ? ("got " + in.length).getBytes() : BODY;
            exchange.sendResponseHeaders(200, out.length);
            exchange.getResponseBody().write(out);
            exchange.close();
        });
        upstream.start();
        proxy = FaultProxy.start(URI.create("http://127.0.0.1:" + upstream.getAddress().getPort()));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (upstream != null) {
            upstream.stop(0);
        }
    }

    @BeforeEach
    void heal() {
        proxy.heal();
    }

    @Test
    void passesRequestsThroughUnchanged() throws Exception {
        int before = upstreamRequests.get();
        HttpResponse<byte[]> get = send(HttpRequest.newBuilder(uri("/bucket/key")).GET().build());
        assertEquals(200, get.statusCode());
        assertEquals(BODY.length, get.body().length);
        HttpResponse<byte[]> put = send(HttpRequest.newBuilder(uri("/bucket/key"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[12345])).build());
        assertEquals(200, put.statusCode());
        assertEquals("got 12345", new String(put.body()));
        assertEquals(before + 2, upstreamRequests.get());
    }

    @Test
    void answersWithS3ErrorsWithoutForwarding() throws Exception {
        int before = upstreamRequests.get();
        long faults = proxy.faults(Fault.HTTP_503);
        proxy.down(Fault.HTTP_503);
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(uri("/bucket/key"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[5000])).build());
        assertEquals(503, r.statusCode());
        assertTrue(new String(r.body()).contains("<Code>ServiceUnavailable</Code>"));
        proxy.down(Fault.HTTP_500);
        HttpResponse<byte[]> r500 = send(HttpRequest.newBuilder(uri("/bucket/key")).GET().build());
        assertEquals(500, r500.statusCode());
        assertTrue(new String(r500.body()).contains("<Code>InternalError</Code>"));
        assertEquals(before, upstreamRequests.get());
        assertEquals(faults + 1, proxy.faults(Fault.HTTP_503));
    }

    @Test
    void resetsConnections() {
        proxy.down(Fault.RESET);
        assertThrows(IOException.class, () -> send(HttpRequest.newBuilder(uri("/bucket/key")).GET().build()));
    }

    @Test
    void truncatesResponseBodies() {
        proxy.down(Fault.TRUNCATE);
        assertThrows(IOException.class, () -> send(HttpRequest.newBuilder(uri("/bucket/key")).GET().build()));
    }

    @Test
    void failsAboutTheRequestedFractionThenHeals() throws Exception {
        long before = proxy.faults();
        proxy.inject(0.3, Fault.HTTP_500);
        int failed = 0;
        for (int i = 0; i < 100; i++) {
            if (send(HttpRequest.newBuilder(uri("/bucket/k" + i)).GET().build()).statusCode() == 500) {
                failed++;
            }
        }
        // seeded: 30 ± 4.6 expected; the bounds are ±4 standard deviations
        assertTrue(failed >= 12 && failed <= 48, "failed " + failed + " of 100 at rate 0.3");
        assertEquals(before + failed, proxy.faults());
        proxy.heal();
        for (int i = 0; i < 10; i++) {
            assertEquals(200, send(HttpRequest.newBuilder(uri("/bucket/k" + i)).GET().build()).statusCode());
        }
    }

    @Test
    void failsEveryNthRequestCyclingThroughTheFaults() throws Exception {
        long r500 = proxy.faults(Fault.HTTP_500);
        long r503 = proxy.faults(Fault.HTTP_503);
        proxy.everyNth(2, Fault.HTTP_500, Fault.HTTP_503);
        StringBuilder statuses = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            statuses.append(send(HttpRequest.newBuilder(uri("/bucket/n" + i)).GET().build()).statusCode()).append(' ');
        }
        assertEquals("200 500 200 503 200 500 200 503 ", statuses.toString());
        assertEquals(r500 + 2, proxy.faults(Fault.HTTP_500));
        assertEquals(r503 + 2, proxy.faults(Fault.HTTP_503));
    }

    @Test
    void onlyRequestsInScopeFailAndOnlyTheyCountTowardsEveryNth() throws Exception {
        proxy.only("PUT", "[?&]partNumber=2(&|$)").everyNth(1, Fault.HTTP_500);
        StringBuilder statuses = new StringBuilder();
        for (String query : new String[] {"partNumber=1", "partNumber=2", "uploadId=x&partNumber=2", "partNumber=22"}) {
            statuses.append(send(HttpRequest.newBuilder(uri("/bucket/key?" + query))
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[10])).build()).statusCode()).append(' ');
        }
        statuses.append(send(HttpRequest.newBuilder(uri("/bucket/key?partNumber=2")).GET().build()).statusCode());
        assertEquals("200 500 500 200 200", statuses.toString());
        proxy.heal();
        assertEquals(200, send(HttpRequest.newBuilder(uri("/bucket/key?partNumber=2"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[10])).build()).statusCode());
    }

    private static URI uri(String path) {
        return URI.create(proxy.endpoint() + path);
    }

    private static HttpResponse<byte[]> send(HttpRequest request) throws IOException, InterruptedException {
        return CLIENT.send(request, HttpResponse.BodyHandlers.ofByteArray());
    }
}
