package dev.mergeline.bench;

import dev.mergeline.devstack.KafkaBroker;
import dev.mergeline.devstack.S3MockServer;
import dev.mergeline.events.AdapterRef;
import dev.mergeline.events.BaseRef;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.OutputFile;
import dev.mergeline.s3.ObjectInfo;
import dev.mergeline.s3.S3Clients;
import dev.mergeline.s3.S3Objects;
import dev.mergeline.s3.S3Settings;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The worker's S3 phases end to end, not a unit test: run by {@code merge-engine/worker/bench.sh}.
 *
 * <p>Starts a Kafka broker and the embedded S3 server (S3Mock) as child processes, uploads a base
 * checkpoint and an adapter (e.g. from {@code SyntheticLlama}), then, for each run and each transfer
 * setting, starts the <em>packaged</em> worker ({@code quarkus-run.jar}, {@code -Xmx1g
 * -XX:MaxDirectMemorySize=2g}) with that setting, sends it one {@code merge.requested} (a fresh job
 * id, on a topic of its own), reads the phase times from its {@code merged-model.ready} event
 * ({@code timingsMs}: downloadMs = S3 in, mergeMs, uploadMs = S3 out), stops it and deletes the
 * output. The order of the settings rotates from run to run. Prints every run and the medians.
 *
 * <pre>
 * S3PhasesBenchmark --data DIR (with base/ and adapter/) --work DIR [--runs 3]
 *                   [--worker-jar merge-engine/worker/target/quarkus-app/quarkus-run.jar]
 *                   [--setting name=concurrency:partSize]... (default: old=1:64M new=8:16M)
 * </pre>
 */
public final class S3PhasesBenchmark {
    private static final String BUCKET = "mergeline";
    private static final String BASE = "bench-llama";
    private static final String ADAPTER = "bench";
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(30);

    /** A transfer setting under test: {@code mergeline.worker.s3-concurrency} and {@code s3-part-size}. */
    record Setting(String name, int concurrency, String partSize) {
        static Setting parse(String s) {
            String[] nv = s.split("=", 2);
            String[] cp = nv[1].split(":", 2);
            return new Setting(nv[0], Integer.parseInt(cp[0]), cp[1]);
        }
    }

    /** One run's phase times (ms) from the ready event. */
    record Run(long downloadMs, long mergeMs, long uploadMs, long totalMs) {}

    private S3PhasesBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path data = null;
        Path work = null;
        int runs = 3;
        Path workerJar = Path.of("merge-engine/worker/target/quarkus-app/quarkus-run.jar");
        List<Setting> settings = new ArrayList<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--data" -> data = Path.of(args[i + 1]);
                case "--work" -> work = Path.of(args[i + 1]);
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--worker-jar" -> workerJar = Path.of(args[i + 1]);
                case "--setting" -> settings.add(Setting.parse(args[i + 1]));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (data == null || work == null) {
            throw new IllegalArgumentException("usage: S3PhasesBenchmark --data DIR --work DIR [--runs N]"
                    + " [--worker-jar JAR] [--setting name=concurrency:partSize]...");
        }
        if (settings.isEmpty()) {
            settings = List.of(new Setting("old", 1, "64M"), new Setting("new", 8, "16M"));
        }
        Files.createDirectories(work.resolve("logs"));
        try (KafkaBroker kafka = KafkaBroker.start(work.resolve("kafka"), 0);
                S3MockServer s3mock = S3MockServer.start(work.resolve("s3"), 0, BUCKET)) {
            new S3PhasesBenchmark().run(kafka, s3mock, data, work, runs, workerJar.toAbsolutePath(), settings);
        }
    }

    private void run(KafkaBroker kafka, S3MockServer s3mock, Path data, Path work, int runs, Path workerJar,
            List<Setting> settings) throws Exception {
        kafka.createTopics("merged-model-ready", "merge-failures");
        S3Client client = S3Clients.create(new S3Settings(Optional.of(URI.create(s3mock.endpoint())),
                S3MockServer.REGION, true, Optional.of(S3MockServer.ACCESS_KEY), Optional.of(S3MockServer.SECRET_KEY),
                4));
        S3Objects s3 = new S3Objects(client);
        Map<String, String> baseEtags = uploadDir(s3, data.resolve("base"), BaseRef.prefixFor(BASE));
        Map<String, String> adapterEtags = uploadDir(s3, data.resolve("adapter"), "adapters/" + ADAPTER + "/");
        long inputBytes = size(data.resolve("base")) + size(data.resolve("adapter"));
        System.out.printf(Locale.ROOT, "inputs: %.3f GiB in %d files; settings %s; %d runs each%n",
                inputBytes / (double) (1L << 30), baseEtags.size() + adapterEtags.size(), settings, runs);

        Map<String, List<Run>> results = new LinkedHashMap<>();
        Map<String, Long> outputBytes = new LinkedHashMap<>();
        settings.forEach(s -> results.put(s.name(), new ArrayList<>()));
        try (KafkaConsumer<String, byte[]> outcomes = outcomes(kafka);
                KafkaProducer<String, byte[]> producer = producer(kafka)) {
            int n = 0;
            for (int run = 0; run < runs; run++) {
                for (int k = 0; k < settings.size(); k++) {
                    Setting setting = settings.get((run + k) % settings.size());
                    String topic = "bench-requests-" + (++n);
                    kafka.createTopics(topic);
                    String jobId = UUID.randomUUID().toString().replace("-", "");
                    MergeRequested request = new MergeRequested(jobId,
                            new AdapterRef(BUCKET, "adapters/" + ADAPTER + "/", ADAPTER, adapterEtags, "LORA", null, null),
                            new BaseRef(BASE, BUCKET, BaseRef.prefixFor(BASE), identity(baseEtags), baseEtags), null, 0);
                    String load = loadAverage();
                    Path log = work.resolve("logs").resolve(String.format(Locale.ROOT, "%02d-%s.log", n, setting.name()));
                    Process worker = startWorker(workerJar, kafka, s3mock, work.resolve("scratch"), topic, setting, log);
                    try {
                        producer.send(new ProducerRecord<>(topic, jobId,
                                EventCodec.instance().encode(CloudEvent.create("/mergeline/bench", request)))).get();
                        MergedModelReady ready = awaitReady(outcomes, jobId, worker, log);
                        Map<String, Long> t = ready.timingsMs();
                        Run r = new Run(t.get("downloadMs"), t.get("mergeMs"), t.get("uploadMs"), t.get("totalMs"));
                        results.get(setting.name()).add(r);
                        outputBytes.put(setting.name(), ready.output().files().stream().mapToLong(OutputFile::bytes).sum());
                        System.out.printf(Locale.ROOT, "run %d %-6s S3 in %6d ms  merge %6d ms  S3 out %6d ms  total %6d ms"
                                + "  (load before: %s)%n", run + 1, setting.name(), r.downloadMs(), r.mergeMs(),
                                r.uploadMs(), r.totalMs(), load);
                    } finally {
                        stop(worker);
                    }
                    for (ObjectInfo o : s3.list(BUCKET, "merged/" + ADAPTER + "/")) {
                        s3.delete(BUCKET, o.key());
                    }
                }
            }
        }
        print(results, inputBytes, outputBytes);
    }

    private static void print(Map<String, List<Run>> results, long inputBytes, Map<String, Long> outputBytes) {
        System.out.println();
        System.out.println("| setting | S3 in: runs (ms) | median | MiB/s | merge: median (ms) | S3 out: runs (ms) | median"
                + " | MiB/s | total: median (ms) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        results.forEach((name, runs) -> {
            long in = median(runs.stream().mapToLong(Run::downloadMs).toArray());
            long out = median(runs.stream().mapToLong(Run::uploadMs).toArray());
            System.out.printf(Locale.ROOT, "| %s | %s | %d | %.0f | %d | %s | %d | %.0f | %d |%n", name,
                    join(runs.stream().mapToLong(Run::downloadMs).toArray()), in, mibPerSecond(inputBytes, in),
                    median(runs.stream().mapToLong(Run::mergeMs).toArray()),
                    join(runs.stream().mapToLong(Run::uploadMs).toArray()), out,
                    mibPerSecond(outputBytes.getOrDefault(name, 0L), out),
                    median(runs.stream().mapToLong(Run::totalMs).toArray()));
        });
    }

    private static double mibPerSecond(long bytes, long ms) {
        return ms == 0 ? 0 : bytes / (double) (1L << 20) * 1000 / ms;
    }

    private static String join(long[] values) {
        StringBuilder sb = new StringBuilder();
        for (long v : values) {
            sb.append(sb.length() == 0 ? "" : " ").append(v);
        }
        return sb.toString();
    }

    static long median(long[] values) {
        long[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        int m = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }

    static Map<String, String> uploadDir(S3Objects s3, Path dir, String prefix) throws IOException {
        Map<String, String> etags = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String name = f.getFileName().toString();
                etags.put(name, s3.upload(f, BUCKET, prefix + name,
                        name.endsWith(".json") ? "application/json" : "application/octet-stream"));
            }
        }
        return etags;
    }

    private static long size(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            long total = 0;
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                total += Files.size(f);
            }
            return total;
        }
    }

    /** Any stable 64-hex identity: the worker takes the base's identity from the request, it does not recompute it. */
    private static String identity(Map<String, String> etags) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(etags.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private static Process startWorker(Path jar, KafkaBroker kafka, S3MockServer s3mock, Path scratch, String topic,
            Setting setting, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-XX:MaxDirectMemorySize=2g",
                "-Dmp.messaging.incoming.merge-requests.topic=" + topic,
                "-jar", jar.toString());
        Map<String, String> env = pb.environment();
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        env.put("MERGELINE_S3_ENDPOINT", s3mock.endpoint());
        env.put("MERGELINE_S3_PATH_STYLE", "true");
        env.put("MERGELINE_S3_ACCESS_KEY", S3MockServer.ACCESS_KEY);
        env.put("MERGELINE_S3_SECRET_KEY", S3MockServer.SECRET_KEY);
        env.put("MERGELINE_WORKER_SCRATCH_DIR", scratch.toString());
        env.put("MERGELINE_WORKER_S3_CONCURRENCY", Integer.toString(setting.concurrency()));
        env.put("MERGELINE_WORKER_S3_PART_SIZE", setting.partSize());
        env.put("QUARKUS_HTTP_PORT", "0");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        return pb.start();
    }

    private static void stop(Process worker) throws InterruptedException {
        worker.destroy();
        if (!worker.waitFor(60, TimeUnit.SECONDS)) {
            worker.destroyForcibly();
            worker.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static MergedModelReady awaitReady(KafkaConsumer<String, byte[]> outcomes, String jobId, Process worker,
            Path log) throws IOException {
        long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            for (var r : outcomes.poll(Duration.ofMillis(500))) {
                if (!jobId.equals(r.key())) {
                    continue;
                }
                if (r.topic().equals("merge-failures")) {
                    throw new IllegalStateException("job failed: " + EventCodec.instance().decode(r.value(),
                            MergeFailed.class).data() + "; see " + log);
                }
                return EventCodec.instance().decode(r.value(), MergedModelReady.class).data();
            }
            if (!worker.isAlive()) {
                throw new IllegalStateException("the worker exited (" + worker.exitValue() + "); see " + log);
            }
        }
        throw new IllegalStateException("no outcome for job " + jobId + " within " + JOB_TIMEOUT + "; see " + log);
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    private static KafkaProducer<String, byte[]> producer(KafkaBroker kafka) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    private static KafkaConsumer<String, byte[]> outcomes(KafkaBroker kafka) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        c.subscribe(List.of("merged-model-ready", "merge-failures"));
        return c;
    }
}
