package dev.mergeline.embedded;

import io.vertx.core.Future;
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
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * An S3 endpoint that behaves like S3 with event notifications: a transparent HTTP proxy (Vert.x)
 * in front of a real S3 API server (S3Mock), which after every successful PutObject,
 * CompleteMultipartUpload and CopyObject under a watched prefix sends the S3 event notification
 * JSON that AWS sends (eventName, bucket, URL-encoded key, size, eTag, sequencer) to a webhook —
 * the functions app's S3 trigger, as a Lambda notification would invoke it.
 *
 * <p>Path-style requests only ({@code http://host:port/bucket/key}), as LocalStack and S3Mock use.
 */
public final class S3NotificationProxy implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(S3NotificationProxy.class.getName());

    private final Vertx vertx;
    private final HttpClient s3;
    private final HttpClient webhookClient;
    private final URI webhook;
    private final String watchedPrefix;
    private final HttpServer server;
    private final AtomicLong sequencer = new AtomicLong(System.currentTimeMillis() << 16);

    private S3NotificationProxy(Vertx vertx, URI target, URI webhook, String watchedPrefix, HttpServer server) {
        this.vertx = vertx;
        this.s3 = vertx.createHttpClient(new HttpClientOptions().setDefaultHost(target.getHost())
                .setDefaultPort(target.getPort()).setMaxPoolSize(32));
        this.webhookClient = vertx.createHttpClient(new HttpClientOptions().setDefaultHost(webhook.getHost())
                .setDefaultPort(webhook.getPort()));
        this.webhook = webhook;
        this.watchedPrefix = watchedPrefix;
        this.server = server;
    }

    /**
     * @param listenPort port to serve S3 on (4566, LocalStack's)
     * @param target the S3 server behind the proxy
     * @param webhook where notifications are POSTed
     * @param watchedPrefix keys that trigger notifications (e.g. {@code adapters/})
     */
    public static S3NotificationProxy start(int listenPort, URI target, URI webhook, String watchedPrefix)
            throws Exception {
        Vertx vertx = Vertx.vertx();
        HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(listenPort)
                // The SDK's async clients send "Expect: 100-continue"; answer it here, not upstream.
                .setHandle100ContinueAutomatically(true));
        S3NotificationProxy proxy = new S3NotificationProxy(vertx, target, webhook, watchedPrefix, server);
        server.requestHandler(proxy::handle);
        server.listen().toCompletionStage().toCompletableFuture().get();
        LOG.info("S3 notification proxy on 127.0.0.1:" + server.actualPort() + " -> " + target + ", notifying "
                + webhook + " for " + watchedPrefix + "*");
        return proxy;
    }

    public int port() {
        return server.actualPort();
    }

    private void handle(HttpServerRequest req) {
        req.pause();
        RequestOptions options = new RequestOptions().setMethod(req.method()).setURI(req.uri());
        s3.request(options).onSuccess(out -> {
            out.headers().setAll(req.headers()).remove("Expect");
            out.send(req).onSuccess(res -> relay(req, res)).onFailure(e -> fail(req, e));
        }).onFailure(e -> fail(req, e));
    }

    private void relay(HttpServerRequest req, HttpClientResponse res) {
        var response = req.response().setStatusCode(res.statusCode()).setStatusMessage(res.statusMessage());
        response.headers().setAll(res.headers());
        Optional<ObjectEvent> event = classify(req, res.statusCode());
        response.send(res).onSuccess(v -> event.ifPresent(this::notifyCreated));
    }

    private static void fail(HttpServerRequest req, Throwable e) {
        LOG.warning("proxying " + req.method() + " " + req.uri() + " failed: " + e);
        if (!req.response().ended()) {
            req.response().setStatusCode(502).end();
        }
    }

    /** An object creation the proxy has seen succeed. */
    record ObjectEvent(String bucket, String key, String eventName) {}

    /** Which successful requests create objects, and with which S3 event name. */
    Optional<ObjectEvent> classify(HttpServerRequest req, int status) {
        if (status != 200) {
            return Optional.empty();
        }
        String path = URI.create(req.uri()).getRawPath();
        int slash = path.indexOf('/', 1);
        if (slash < 0) {
            return Optional.empty();
        }
        String bucket = path.substring(1, slash);
        String key = decodePath(path.substring(slash + 1));
        if (!key.startsWith(watchedPrefix)) {
            return Optional.empty();
        }
        String query = Optional.ofNullable(req.query()).orElse("");
        if (req.method() == HttpMethod.PUT && !query.contains("partNumber=")) {
            boolean copy = req.headers().contains("x-amz-copy-source");
            return Optional.of(new ObjectEvent(bucket, key, copy ? "ObjectCreated:Copy" : "ObjectCreated:Put"));
        }
        if (req.method() == HttpMethod.POST && query.contains("uploadId=")) {
            return Optional.of(new ObjectEvent(bucket, key, "ObjectCreated:CompleteMultipartUpload"));
        }
        return Optional.empty();
    }

    /** HEADs the new object for size and ETag, then POSTs the notification to the webhook. */
    private void notifyCreated(ObjectEvent e) {
        String encodedPath = "/" + e.bucket() + "/" + encodePath(e.key());
        s3.request(HttpMethod.HEAD, encodedPath).compose(r -> r.send()).onSuccess(head -> {
            if (head.statusCode() != 200) {
                LOG.warning("created object s3://" + e.bucket() + "/" + e.key() + " not found by HEAD: " + head.statusCode());
                return;
            }
            long size = Long.parseLong(Optional.ofNullable(head.getHeader("Content-Length")).orElse("0"));
            String etag = Optional.ofNullable(head.getHeader("ETag")).orElse("").replace("\"", "");
            deliver(notificationJson(e, size, etag), e, 1);
        }).onFailure(t -> LOG.warning("HEAD after create failed for " + e.key() + ": " + t));
    }

    private void deliver(String json, ObjectEvent e, int attempt) {
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setURI(webhook.getRawPath())
                .putHeader("Content-Type", "application/json");
        Future<Integer> sent = webhookClient.request(options)
                .compose(r -> r.send(Buffer.buffer(json)))
                .compose(r -> r.body().map(b -> r.statusCode()));
        sent.onComplete(ar -> {
            if (ar.succeeded() && ar.result() < 300) {
                LOG.info("notified " + e.eventName() + " s3://" + e.bucket() + "/" + e.key());
            } else if (attempt < 5) {
                long delay = 500L << attempt;
                LOG.warning("notification for " + e.key() + " failed (" + (ar.succeeded() ? "HTTP " + ar.result()
                        : ar.cause()) + "); retry " + attempt + " in " + delay + " ms");
                vertx.setTimer(delay, t -> deliver(json, e, attempt + 1));
            } else {
                LOG.severe("giving up notifying " + e.key() + " after " + attempt + " attempts");
            }
        });
    }

    /** The JSON AWS sends for one created object (one record). */
    String notificationJson(ObjectEvent e, long size, String etag) {
        String sequencer = String.format("%016X", this.sequencer.incrementAndGet());
        return """
                {"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",\
                "eventTime":"%s","eventName":"%s","userIdentity":{"principalId":"mergeline-embedded"},\
                "requestParameters":{"sourceIPAddress":"127.0.0.1"},"responseElements":{},\
                "s3":{"s3SchemaVersion":"1.0","configurationId":"mergeline-adapters",\
                "bucket":{"name":"%s","ownerIdentity":{"principalId":"mergeline-embedded"},"arn":"arn:aws:s3:::%s"},\
                "object":{"key":"%s","size":%d,"eTag":"%s","sequencer":"%s"}}}]}"""
                .formatted(Instant.now(), e.eventName(), e.bucket(), e.bucket(), notificationKey(e.key()), size, etag,
                        sequencer);
    }

    /** AWS encodes notification keys like HTML form values: space as '+', '+' as %2B; '/' kept. */
    static String notificationKey(String key) {
        return URLEncoder.encode(key, StandardCharsets.UTF_8).replace("%2F", "/");
    }

    private static String decodePath(String rawPath) {
        return URLDecoder.decode(rawPath.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String encodePath(String key) {
        StringBuilder out = new StringBuilder();
        for (String segment : List.of(key.split("/", -1))) {
            if (out.length() > 0 || key.startsWith("/")) {
                out.append('/');
            }
            out.append(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return out.toString();
    }

    @Override
    public void close() {
        vertx.close().toCompletionStage().toCompletableFuture().join();
    }

    /** {@code S3NotificationProxy LISTEN_PORT TARGET_URL WEBHOOK_URL [PREFIX]}; runs until killed. */
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: S3NotificationProxy LISTEN_PORT TARGET_URL WEBHOOK_URL [PREFIX]");
            System.exit(64);
        }
        S3NotificationProxy proxy = start(Integer.parseInt(args[0]), URI.create(args[1]), URI.create(args[2]),
                args.length > 3 ? args[3] : "adapters/");
        Runtime.getRuntime().addShutdownHook(new Thread(proxy::close));
        Thread.currentThread().join();
    }
}
