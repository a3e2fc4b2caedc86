package dev.mergeline.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.mergeline.devstack.KafkaBroker;
import dev.mergeline.devstack.S3MockServer;
import dev.mergeline.events.BaseRef;
import dev.mergeline.s3.S3Clients;
import dev.mergeline.s3.S3Objects;
import dev.mergeline.s3.S3Settings;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Cold start of the validation function as Lambda's Java runtime runs it, not a unit test: run by
 * {@code functions/cold-start.sh}.
 *
 * <p>Unpacks {@code function.zip} the way Lambda lays it out (classes at the root, {@code lib/*.jar}),
 * starts a Kafka broker and S3Mock, uploads the tiny Llama fixture as a base and one adapter per run,
 * and plays the Lambda service: a local Runtime API server ({@code /2018-06-01/runtime/invocation/next},
 * {@code …/response}) hands out one S3 notification. Each run starts a fresh JVM with AWS's runtime
 * interface client ({@code com.amazonaws.services.lambda.runtime.api.client.AWSLambda}, the poll loop of
 * Lambda's managed Java runtime) and the template's handler, and measures
 * <ul>
 * <li>init: JVM start → the first {@code GET …/invocation/next} (Quarkus started, the handler ready),</li>
 * <li>first event: that request → the function's response (header reads from S3, a {@code merge.requested}
 * published to Kafka),</li>
 * </ul>
 * for each JVM option set, the sets alternating from run to run. Prints every run and the medians.
 *
 * <pre>
 * LambdaColdStart --zip functions/target/function.zip --fixture merge-engine/fixtures/cases/llama-bf16-plain
 *                 --work DIR [--runs 5] [--variant name="jvm options"]...
 * </pre>
 */
public final class LambdaColdStart {
    private static final String BUCKET = "mergeline";
    private static final String BASE = "cold-start-llama";
    private static final String HANDLER = "io.quarkus.funqy.lambda.FunqyStreamHandler::handleRequest";
    private static final String RUNTIME_CLIENT = "com.amazonaws.services.lambda.runtime.api.client.AWSLambda";
    private static final long RUN_TIMEOUT_SECONDS = 180;

    /** A JVM option set under test. */
    record Variant(String name, List<String> jvmOptions) {
        static Variant parse(String s) {
            String[] nv = s.split("=", 2);
            return new Variant(nv[0], nv[1].isBlank() ? List.of() : List.of(nv[1].trim().split("\\s+")));
        }
    }

    /** One cold start, in milliseconds. */
    record Run(long initMs, long firstEventMs) {
        long totalMs() {
            return initMs + firstEventMs;
        }
    }

    private LambdaColdStart() {}

    public static void main(String[] args) throws Exception {
        Path zip = null;
        Path fixture = null;
        Path work = null;
        int runs = 5;
        List<Variant> variants = new ArrayList<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--zip" -> zip = Path.of(args[i + 1]);
                case "--fixture" -> fixture = Path.of(args[i + 1]);
                case "--work" -> work = Path.of(args[i + 1]);
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--variant" -> variants.add(Variant.parse(args[i + 1]));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (zip == null || fixture == null || work == null) {
            throw new IllegalArgumentException("usage: LambdaColdStart --zip function.zip --fixture DIR --work DIR"
                    + " [--runs N] [--variant name=\"jvm options\"]...");
        }
        if (variants.isEmpty()) {
            // Lambda's managed Java 17+ runtimes start the JVM with C1 only (-XX:TieredStopAtLevel=1) by default.
            variants = List.of(new Variant("lambda-default", List.of("-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1")),
                    new Variant("full-jit", List.of()));
        }
        Path function = unzip(zip, work.resolve("function"));
        Files.createDirectories(work.resolve("logs"));
        try (KafkaBroker kafka = KafkaBroker.start(work.resolve("kafka"), 0);
                S3MockServer s3mock = S3MockServer.start(work.resolve("s3"), 0, BUCKET)) {
            kafka.createTopics("merge-requests", "merge-failures");
            S3Objects s3 = new S3Objects(S3Clients.create(new S3Settings(Optional.of(URI.create(s3mock.endpoint())),
                    S3MockServer.REGION, true, Optional.of(S3MockServer.ACCESS_KEY),
                    Optional.of(S3MockServer.SECRET_KEY), 4)));
            upload(s3, fixture.resolve("base"), BaseRef.prefixFor(BASE));
            Map<String, List<Run>> results = new LinkedHashMap<>();
            variants.forEach(v -> results.put(v.name(), new ArrayList<>()));
            int n = 0;
            for (int run = 0; run < runs; run++) {
                for (int k = 0; k < variants.size(); k++) {
                    Variant variant = variants.get((run + k) % variants.size());
                    String adapter = "cold-start-" + (++n);
                    List<String> keys = upload(s3, fixture.resolve("adapter"), "adapters/" + adapter + "/");
                    s3.putBytes(("{\"base\":\"" + BASE + "\"}").getBytes(StandardCharsets.UTF_8), BUCKET,
                            "adapters/" + adapter + "/merge.json", "application/json");
                    String load = S3PhasesBenchmark.loadAverage();
                    Run r = coldStart(function, variant, kafka, s3mock, notification(keys), adapter,
                            work.resolve("logs").resolve(String.format(Locale.ROOT, "%02d-%s.log", n, variant.name())));
                    results.get(variant.name()).add(r);
                    System.out.printf(Locale.ROOT, "run %d %-15s init %5d ms  first event %5d ms  total %5d ms"
                            + "  (load before: %s)%n", run + 1, variant.name(), r.initMs(), r.firstEventMs(),
                            r.totalMs(), load);
                }
            }
            System.out.println();
            System.out.println("| JVM options | init: median (ms) | first event: median (ms) | total: runs (ms) | total: median (ms) |");
            System.out.println("|---|---|---|---|---|");
            for (Variant v : variants) {
                List<Run> rs = results.get(v.name());
                System.out.printf(Locale.ROOT, "| %s `%s` | %d | %d | %s | %d |%n", v.name(),
                        String.join(" ", v.jvmOptions()), S3PhasesBenchmark.median(rs.stream().mapToLong(Run::initMs).toArray()),
                        S3PhasesBenchmark.median(rs.stream().mapToLong(Run::firstEventMs).toArray()),
                        Arrays.toString(rs.stream().mapToLong(Run::totalMs).toArray()),
                        S3PhasesBenchmark.median(rs.stream().mapToLong(Run::totalMs).toArray()));
            }
        }
    }

    private static Run coldStart(Path function, Variant variant, KafkaBroker kafka, S3MockServer s3mock,
            String event, String adapter, Path log) throws Exception {
        CompletableFuture<Long> polled = new CompletableFuture<>();
        CompletableFuture<String> responded = new CompletableFuture<>();
        HttpServer runtimeApi = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        runtimeApi.createContext("/2018-06-01/runtime/", exchange -> runtimeApi(exchange, event, polled, responded));
        runtimeApi.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        runtimeApi.start();
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(variant.jvmOptions());
        command.addAll(List.of("-cp", function + ":" + function.resolve("lib") + "/*:" + System.getProperty("lambda.ric"),
                RUNTIME_CLIENT, HANDLER));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + runtimeApi.getAddress().getPort());
        env.put("_HANDLER", HANDLER);
        env.put("AWS_REGION", S3MockServer.REGION);
        env.put("AWS_LAMBDA_FUNCTION_NAME", "mergeline-validation");
        env.put("AWS_LAMBDA_FUNCTION_VERSION", "1");
        env.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024");
        env.put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/mergeline-validation");
        env.put("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start");
        env.put("QUARKUS_FUNQY_EXPORT", "s3Trigger");
        env.put("MERGELINE_BUCKET", BUCKET);
        env.put("MERGELINE_S3_ENDPOINT", s3mock.endpoint());
        env.put("MERGELINE_S3_PATH_STYLE", "true");
        env.put("MERGELINE_S3_ACCESS_KEY", S3MockServer.ACCESS_KEY);
        env.put("MERGELINE_S3_SECRET_KEY", S3MockServer.SECRET_KEY);
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        long start = System.nanoTime();
        Process process = pb.start();
        try {
            long polledAt = polled.get(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            String response = responded.get(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            long respondedAt = System.nanoTime();
            if (!response.contains("adapters/" + adapter + "/") || !response.contains("\"requested\"")) {
                throw new IllegalStateException("the function did not request a merge of " + adapter + ": " + response
                        + " (log: " + log + ")");
            }
            return new Run(TimeUnit.NANOSECONDS.toMillis(polledAt - start),
                    TimeUnit.NANOSECONDS.toMillis(respondedAt - polledAt));
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("no cold start within " + RUN_TIMEOUT_SECONDS + " s; log: " + log, e);
        } finally {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
            runtimeApi.stop(0);
        }
    }

    /** The Lambda Runtime API, as far as one invocation needs it. */
    private static void runtimeApi(HttpExchange exchange, String event, CompletableFuture<Long> polled,
            CompletableFuture<String> responded) throws IOException {
        String path = exchange.getRequestURI().getPath();
        byte[] body;
        try (InputStream in = exchange.getRequestBody()) {
            body = in.readAllBytes();
        }
        if (path.endsWith("/invocation/next")) {
            if (!polled.complete(System.nanoTime())) {
                // The next poll after the response: the measured run is over; leave it waiting.
                responded.join();
                return;
            }
            byte[] bytes = event.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Lambda-Runtime-Aws-Request-Id", "cold-start-request");
            exchange.getResponseHeaders().add("Lambda-Runtime-Deadline-Ms",
                    Long.toString(System.currentTimeMillis() + 60_000));
            exchange.getResponseHeaders().add("Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:mergeline-validation:live");
            exchange.getResponseHeaders().add("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000");
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
        } else if (path.endsWith("/response")) {
            exchange.sendResponseHeaders(202, -1);
            responded.complete(new String(body, StandardCharsets.UTF_8));
        } else {
            // …/init/error or …/invocation/<id>/error
            exchange.sendResponseHeaders(202, -1);
            responded.completeExceptionally(new IllegalStateException(path + ": " + new String(body, StandardCharsets.UTF_8)));
            polled.completeExceptionally(new IllegalStateException(path + ": " + new String(body, StandardCharsets.UTF_8)));
        }
        exchange.close();
    }

    private static String notification(List<String> keys) {
        StringBuilder records = new StringBuilder();
        for (String key : keys) {
            records.append(records.length() == 0 ? "" : ",").append("""
                    {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",\
                    "eventTime":"2026-12-03T12:00:00.000Z","eventName":"ObjectCreated:Put",\
                    "s3":{"s3SchemaVersion":"1.0","bucket":{"name":"%s","arn":"arn:aws:s3:::%s"},\
                    "object":{"key":"%s","size":1}}}""".formatted(BUCKET, BUCKET,
                    URLEncoder.encode(key, StandardCharsets.UTF_8).replace("%2F", "/")));
        }
        return "{\"Records\":[" + records + "]}";
    }

    private static List<String> upload(S3Objects s3, Path dir, String prefix) throws IOException {
        return S3PhasesBenchmark.uploadDir(s3, dir, prefix).keySet().stream().map(name -> prefix + name).toList();
    }

    private static Path unzip(Path zip, Path target) throws IOException {
        if (Files.exists(target)) {
            try (Stream<Path> walk = Files.walk(target)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                Path out = target.resolve(e.getName()).normalize();
                if (!out.startsWith(target)) {
                    throw new IOException("zip entry outside the target: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(in, out);
                }
            }
        }
        return target;
    }
}
