package dev.mergeline.embedded;

import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventData;
import dev.mergeline.events.MergeProgress;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.OutputFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What {@code localstack/demo.sh} runs: registers the bundled base under {@code base-models/},
 * uploads the bundled adapter through the S3 API (which triggers the pipeline), waits for the
 * outcome on Kafka while printing the job's progress events (one line each, on stderr), prints the
 * ready event, verifies every output file's size and SHA-256 against the event, and prints a
 * one-screen summary. Exit 0 verified, 2 rejected/failed, 1 error or timeout.
 */
public final class DemoClient {
    private final String endpoint;
    private final String bootstrap;
    private final PrintStream out = System.out;
    private final PrintStream err = System.err;
    private static final List<String> TOPICS = List.of("merged-model-ready", "merge-failures", "merge-progress");
    /** Width of the waiting line that a progress line overwrites. */
    private static final int TICKER_WIDTH = 48;

    DemoClient(String endpoint, String bootstrap) {
        this.endpoint = endpoint;
        this.bootstrap = bootstrap;
    }

    /** {@code DemoClient S3_ENDPOINT KAFKA BASE_DIR BASE_NAME ADAPTER_DIR ADAPTER_ID TIMEOUT_SECONDS}. */
    public static void main(String[] args) throws Exception {
        if (args.length != 7) {
            System.err.println("usage: DemoClient S3_ENDPOINT KAFKA BASE_DIR BASE_NAME ADAPTER_DIR ADAPTER_ID TIMEOUT_SECONDS");
            System.exit(64);
        }
        System.exit(new DemoClient(args[0], args[1]).run(Path.of(args[2]), args[3], Path.of(args[4]), args[5],
                Duration.ofSeconds(Long.parseLong(args[6]))));
    }

    int run(Path baseDir, String baseName, Path adapterDir, String adapterId, Duration timeout) throws Exception {
        long start = System.nanoTime();
        try (S3Client s3 = s3(); KafkaConsumer<String, byte[]> consumer = consumer()) {
            err.println("• registering base model " + baseName + " at s3://mergeline/base-models/" + baseName + "/");
            upload(s3, baseDir, "base-models/" + baseName + "/");
            awaitAssignment(consumer);
            err.println("• uploading adapter to s3://mergeline/adapters/" + adapterId + "/ (this triggers the pipeline)");
            // merge.json (which base to use) goes first: the pipeline starts once config and weights are there.
            s3.putObject(b -> b.bucket("mergeline").key("adapters/" + adapterId + "/merge.json"),
                    RequestBody.fromString("{\"base\":\"" + baseName + "\"}"));
            upload(s3, adapterDir, "adapters/" + adapterId + "/");
            CloudEvent<? extends EventData> outcome = await(consumer, adapterId, timeout, start);
            if (outcome == null) {
                err.println("✗ no outcome within " + timeout.toSeconds() + " s; see the logs under the state directory");
                return 1;
            }
            out.println(new String(EventCodec.instance().encode(outcome), StandardCharsets.UTF_8));
            if (!(outcome.data() instanceof MergedModelReady ready)) {
                err.println("✗ " + outcome.type() + ": the adapter was not merged (see reasons above)");
                return 2;
            }
            int verified = verify(s3, ready);
            summary(ready, verified, start);
            return 0;
        }
    }

    private S3Client s3() {
        return S3Client.builder().endpointOverride(URI.create(endpoint)).forcePathStyle(true).region(Region.US_EAST_1)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("foo", "bar")))
                .build();
    }

    private KafkaConsumer<String, byte[]> consumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "mergeline-demo-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        c.subscribe(TOPICS);
        return c;
    }

    /** Joins the group before uploading, so that the outcome cannot slip past a "latest" offset. */
    private static void awaitAssignment(KafkaConsumer<String, byte[]> consumer) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (consumer.assignment().size() < TOPICS.size() && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200));
        }
    }

    private static void upload(S3Client s3, Path dir, String prefix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                s3.putObject(b -> b.bucket("mergeline").key(prefix + f.getFileName()), RequestBody.fromFile(f));
            }
        }
    }

    private CloudEvent<? extends EventData> await(KafkaConsumer<String, byte[]> consumer, String adapterId,
            Duration timeout, long start) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long lastTick = 0;
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(250))) {
                CloudEvent<? extends EventData> e = EventCodec.instance().decodeAny(r.value());
                if (e.data() instanceof MergeProgress p) {
                    if (adapterId.equals(p.adapter().id())) {
                        err.println("\r" + String.format(Locale.ROOT, "%-" + TICKER_WIDTH + "s", progressLine(p)));
                    }
                    continue;
                }
                if (adapterId.equals(adapterIdOf(e.data()))) {
                    err.println();
                    return e;
                }
            }
            long seconds = (System.nanoTime() - start) / 1_000_000_000L;
            if (seconds != lastTick) {
                err.print("\r• waiting for merged-model-ready … " + seconds + " s");
                lastTick = seconds;
            }
        }
        err.println();
        return null;
    }

    /**
     * One compact line per progress event: {@code • progress  merge     29.1 KiB / 52.3 KiB   55%
     * 7/21 tensors  at 2.4 s}.
     */
    static String progressLine(MergeProgress p) {
        int percent = p.bytesTotal() == 0 ? 100 : (int) (p.bytesDone() * 100 / p.bytesTotal());
        return String.format(Locale.ROOT, "• progress  %-8s  %s / %s  %3d%%%s  at %.1f s", p.phase().wireName(),
                size(p.bytesDone()), size(p.bytesTotal()), percent,
                p.tensorsTotal() == null ? "" : "  " + p.tensorsDone() + "/" + p.tensorsTotal() + " tensors",
                p.elapsedMs() / 1000.0);
    }

    /** KiB below a MiB, MiB below a GiB, GiB above, one decimal. */
    private static String size(long bytes) {
        double kib = bytes / 1024.0;
        return kib < 1024 ? String.format(Locale.ROOT, "%.1f KiB", kib)
                : kib < 1024 * 1024 ? String.format(Locale.ROOT, "%.1f MiB", kib / 1024)
                : String.format(Locale.ROOT, "%.1f GiB", kib / 1024 / 1024);
    }

    private static String adapterIdOf(EventData data) {
        if (data instanceof MergedModelReady d) {
            return d.adapter().id();
        } else if (data instanceof dev.mergeline.events.AdapterRejected d) {
            return d.adapter().id();
        } else if (data instanceof dev.mergeline.events.MergeFailed d) {
            return d.adapter().id();
        }
        return null;
    }

    /** Downloads every output file and checks size and SHA-256 against the event. */
    private int verify(S3Client s3, MergedModelReady ready) throws Exception {
        int n = 0;
        for (OutputFile f : ready.output().files()) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            long bytes = 0;
            try (InputStream in = s3.getObject(b -> b.bucket(ready.output().bucket()).key(f.key()))) {
                byte[] buf = new byte[1 << 16];
                for (int r; (r = in.read(buf)) > 0; ) {
                    sha.update(buf, 0, r);
                    bytes += r;
                }
            }
            String actual = HexFormat.of().formatHex(sha.digest());
            if (bytes != f.bytes() || !actual.equals(f.sha256())) {
                throw new IllegalStateException(f.key() + ": expected " + f.bytes() + " bytes sha256 " + f.sha256()
                        + ", got " + bytes + " bytes sha256 " + actual);
            }
            n++;
        }
        s3.headObject(b -> b.bucket(ready.output().bucket()).key(ready.output().prefix() + "MANIFEST.json"));
        return n;
    }

    private void summary(MergedModelReady ready, int verified, long start) {
        var c = ready.counts();
        out.println();
        out.println("Mergeline demo — merged model ready" + (ready.reemitted() ? " (already merged earlier; event re-emitted)" : ""));
        out.println("  job        " + ready.jobId());
        out.println("  adapter    s3://" + ready.adapter().bucket() + "/" + ready.adapter().prefix()
                + "  (" + ready.adapter().peftType() + ", r=" + ready.adapter().r() + ")");
        out.println("  base       s3://" + ready.base().bucket() + "/" + ready.base().prefix());
        out.println("  output     s3://" + ready.output().bucket() + "/" + ready.output().prefix() + "  ("
                + ready.output().dtype() + ", " + ready.output().files().size() + " files + MANIFEST.json)");
        out.println("  tensors    " + c.merged() + " merged, " + c.replaced() + " replaced, " + c.added() + " added, "
                + c.copied() + " copied");
        out.println("  verified   " + verified + "/" + ready.output().files().size()
                + " files: size and SHA-256 match the event");
        out.println("  engine     mergeline " + ready.engine().version() + " on " + ready.engine().executionProvider());
        out.println("  time       " + (System.nanoTime() - start) / 1_000_000 + " ms (from registering the base to verified files)");
    }
}
