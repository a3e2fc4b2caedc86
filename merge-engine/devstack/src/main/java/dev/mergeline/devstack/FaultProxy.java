package dev.mergeline.devstack;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * A fault-injecting HTTP proxy for tests (Vert.x): put it between a client and an HTTP service
 * (S3Mock, for instance) and make a chosen fraction of requests fail the way a struggling S3 does —
 * {@code 500 InternalError}, {@code 503 ServiceUnavailable}, a connection reset, or a response body
 * cut off halfway. Every other request is passed through unchanged (method, path, headers, body).
 *
 * <pre>{@code
 * try (FaultProxy proxy = FaultProxy.start(URI.create(s3mock.endpoint()))) {
 *     client = ... endpointOverride(URI.create(proxy.endpoint())) ...;
 *     proxy.inject(0.2, Fault.HTTP_500, Fault.HTTP_503, Fault.RESET);   // 20 % of requests fail
 *     proxy.everyNth(3, Fault.HTTP_500, Fault.TRUNCATE);                  // every third request fails
 *     proxy.down();                                                       // every request fails
 *     proxy.only("PUT", "[?&]partNumber=2(&|$)").down(Fault.HTTP_500);    // only uploads of part 2 fail
 *     proxy.heal();                                                       // none does
 * }
 * }</pre>
 *
 * <p>{@link #inject} picks at random (fixed seed), {@link #everyNth} deterministically; {@link #faults()} and {@link #faults(Fault)} count what
 * was injected, {@link #requests()} every request seen. The proxy can be reconfigured at any time
 * from any thread. Path-style S3 requests work unchanged (the proxy does not rewrite hosts or paths;
 * S3Mock does not check signatures).
 */
public final class FaultProxy implements AutoCloseable {

    /** What an affected request gets. */
    public enum Fault {
        /** {@code 500 InternalError} (S3's XML error body), request not forwarded. */
        HTTP_500,
        /** {@code 503 ServiceUnavailable}, request not forwarded. */
        HTTP_503,
        /** The connection is reset (TCP RST) before any response, request not forwarded. */
        RESET,
        /**
         * GET only: forwarded, then the response is sent with its full {@code Content-Length} but only
         * half of its body before the connection is closed. Other methods pass through untouched.
         */
        TRUNCATE
    }

    private final Vertx vertx;
    private final HttpServer server;
    private final HttpClient upstream;
    private final Random random = new Random(20261130L);
    private final AtomicLong requests = new AtomicLong();
    private final Map<Fault, AtomicLong> injected = new EnumMap<>(Fault.class);
    /** What to inject; replaced as a whole, so that readers always see a consistent setting. */
    private record Setting(double rate, int nth, List<Fault> faults, AtomicLong seen) {
        static final Setting NONE = new Setting(0, 0, List.of(), new AtomicLong());
    }

    private volatile Setting setting = Setting.NONE;

    /** Which requests faults may hit: {@code method} (null: any) and a regex found in the URI (null: any). */
    private record Scope(String method, Pattern uri) {
        static final Scope ALL = new Scope(null, null);

        boolean covers(HttpServerRequest req) {
            return (method == null || method.equalsIgnoreCase(req.method().name()))
                    && (uri == null || uri.matcher(req.uri()).find());
        }
    }

    private volatile Scope scope = Scope.ALL;

    private FaultProxy(Vertx vertx, HttpServer server, HttpClient upstream) {
        this.vertx = vertx;
        this.server = server;
        this.upstream = upstream;
        for (Fault f : Fault.values()) {
            injected.put(f, new AtomicLong());
        }
    }

    /** Starts a proxy on a free port of 127.0.0.1 in front of {@code target} ({@code http://host:port}). */
    public static FaultProxy start(URI target) {
        return start(0, target);
    }

    /** Starts a proxy on {@code port} of 127.0.0.1 (0 = a free one) in front of {@code target}. */
    public static FaultProxy start(int port, URI target) {
        Vertx vertx = Vertx.vertx();
        try {
            HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(port)
                    // close() then sends RST instead of FIN: a real connection reset for Fault.RESET
                    .setSoLinger(0)
                    .setHandle100ContinueAutomatically(true));
            HttpClient client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost(target.getHost())
                    .setDefaultPort(target.getPort()).setMaxPoolSize(32));
            FaultProxy proxy = new FaultProxy(vertx, server, client);
            server.requestHandler(proxy::handle);
            server.listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            return proxy;
        } catch (Exception e) {
            vertx.close();
            throw new IllegalStateException("cannot start the fault proxy for " + target + ": " + e, e);
        }
    }

    /** {@code http://127.0.0.1:<port>}. */
    public String endpoint() {
        return "http://127.0.0.1:" + port();
    }

    public int port() {
        return server.actualPort();
    }

    /**
     * From now on, each request fails with probability {@code rate} (0–1), with a fault picked
     * uniformly from {@code faults}.
     */
    public FaultProxy inject(double rate, Fault... faults) {
        if (rate < 0 || rate > 1 || Double.isNaN(rate)) {
            throw new IllegalArgumentException("rate must be within [0, 1]: " + rate);
        }
        if (rate > 0 && faults.length == 0) {
            throw new IllegalArgumentException("name at least one fault");
        }
        setting = new Setting(rate, 0, List.copyOf(Arrays.asList(faults)), new AtomicLong());
        return this;
    }

    /**
     * From now on, every {@code n}-th request fails (the n-th, 2n-th, …), cycling through
     * {@code faults} in order: a fixed fraction 1/n, never two requests in a row for n ≥ 2 — what a
     * test needs when every fault kind must occur and a bounded retry must still succeed.
     */
    public FaultProxy everyNth(int n, Fault... faults) {
        if (n < 1 || faults.length == 0) {
            throw new IllegalArgumentException("need n >= 1 and at least one fault");
        }
        setting = new Setting(0, n, List.copyOf(Arrays.asList(faults)), new AtomicLong());
        return this;
    }

    /** Every request fails: 503 or a reset connection, as an S3 endpoint that is down. */
    public FaultProxy down() {
        return inject(1.0, Fault.HTTP_503, Fault.RESET);
    }

    /** Every request fails with one of {@code faults}. */
    public FaultProxy down(Fault... faults) {
        return inject(1.0, faults);
    }

    /**
     * From now on, faults hit only requests with this HTTP {@code method} (null: any) whose URI — path
     * and query, as sent — contains a match of {@code uriRegex} (null: any); other requests pass
     * through and do not count for {@link #everyNth}. Combine with a fault setting:
     * {@code only("PUT", "[?&]partNumber=2(&|$)").down(Fault.HTTP_500)}. {@link #heal()} lifts it.
     */
    public FaultProxy only(String method, String uriRegex) {
        scope = new Scope(method, uriRegex == null ? null : Pattern.compile(uriRegex));
        return this;
    }

    /** No more faults, and no {@link #only} scope: everything passes through. */
    public FaultProxy heal() {
        setting = Setting.NONE;
        scope = Scope.ALL;
        return this;
    }

    /** Requests seen so far. */
    public long requests() {
        return requests.get();
    }

    /** Faults injected so far. */
    public long faults() {
        return injected.values().stream().mapToLong(AtomicLong::get).sum();
    }

    /** Faults of one kind injected so far. */
    public long faults(Fault fault) {
        return injected.get(fault).get();
    }

    @Override
    public void close() {
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the fault proxy: " + e, e);
        }
    }

    @Override
    public String toString() {
        Setting s = setting;
        return "FaultProxy[" + endpoint() + ", rate=" + s.rate() + ", every " + s.nth() + ", faults=" + s.faults() + "]";
    }

    private Fault pick(HttpServerRequest req) {
        if (!scope.covers(req)) {
            return null;
        }
        HttpMethod method = req.method();
        Setting s = setting;
        Fault f;
        if (s.nth() > 0) {
            long k = s.seen().incrementAndGet();
            if (k % s.nth() != 0) {
                return null;
            }
            f = s.faults().get((int) ((k / s.nth() - 1) % s.faults().size()));
        } else {
            if (s.rate() <= 0) {
                return null;
            }
            synchronized (random) {
                if (random.nextDouble() >= s.rate()) {
                    return null;
                }
                f = s.faults().get(random.nextInt(s.faults().size()));
            }
        }
        return f == Fault.TRUNCATE && method != HttpMethod.GET ? null : f;
    }

    private void handle(HttpServerRequest req) {
        req.pause();
        requests.incrementAndGet();
        Fault fault = pick(req);
        if (fault == null) {
            forward(req, false);
            return;
        }
        injected.get(fault).incrementAndGet();
        switch (fault) {
            case RESET -> req.connection().close();
            case HTTP_500 -> error(req, 500, "InternalError", "We encountered an internal error. Please try again.");
            case HTTP_503 -> error(req, 503, "ServiceUnavailable", "Please reduce your request rate.");
            case TRUNCATE -> forward(req, true);
        }
    }

    /** Reads the request body (so that the client is not cut off mid-send), then answers with an S3 error. */
    private static void error(HttpServerRequest req, int status, String code, String message) {
        var body = req.body();
        req.resume(); // handle() paused it
        body.onComplete(ignored -> {
            var response = req.response().setStatusCode(status).putHeader("Connection", "close");
            if (req.method() == HttpMethod.HEAD) {
                response.end();
                return;
            }
            response.putHeader("Content-Type", "application/xml").end("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    + "<Error><Code>" + code + "</Code><Message>" + message + "</Message>"
                    + "<RequestId>faultproxy</RequestId></Error>");
        });
    }

    private void forward(HttpServerRequest req, boolean truncate) {
        RequestOptions options = new RequestOptions().setMethod(req.method()).setURI(req.uri());
        upstream.request(options).onSuccess(out -> {
            out.headers().setAll(req.headers()).remove("Expect");
            out.send(req).onSuccess(res -> {
                if (truncate) {
                    truncated(req, res);
                } else {
                    relay(req, res);
                }
            }).onFailure(e -> badGateway(req));
        }).onFailure(e -> badGateway(req));
    }

    private static void relay(HttpServerRequest req, HttpClientResponse res) {
        var response = req.response().setStatusCode(res.statusCode()).setStatusMessage(res.statusMessage());
        response.headers().setAll(res.headers());
        response.send(res);
    }

    /** The full headers, half the body, then the connection closes. */
    private static void truncated(HttpServerRequest req, HttpClientResponse res) {
        res.body().onSuccess(body -> {
            var response = req.response().setStatusCode(res.statusCode()).setStatusMessage(res.statusMessage());
            response.headers().setAll(res.headers());
            response.headers().set("Content-Length", Integer.toString(body.length()));
            Buffer half = body.getBuffer(0, body.length() / 2);
            response.write(half).onComplete(v -> req.connection().close());
        }).onFailure(e -> badGateway(req));
    }

    private static void badGateway(HttpServerRequest req) {
        if (!req.response().ended()) {
            req.response().setStatusCode(502).end();
        }
    }
}
