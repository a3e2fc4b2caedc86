package dev.mergeline.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.run.InputLimits;
import dev.mergeline.core.run.InputRules;
import dev.mergeline.core.run.InputSource;
import dev.mergeline.core.run.LocalDirectory;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.run.Validator;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.devstack.S3MockServer;
import dev.mergeline.safetensors.SafetensorsHeader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * One rule set whatever the source: every reason-code case of the hostile corpus, the committed
 * directory-rule fixtures and a directory-rule case for each rule of {@link InputRules} is read from a
 * local directory and from the same files uploaded to S3 (S3Mock, a child JVM), and validated; both
 * must give the same outcome (the same reason codes, tensors and details, or the same accepted plan),
 * and that outcome must be the one the case expects. For the local side the outcome is also that of
 * {@link OfflineMerger#validate} ({@code mergeline validate}).
 */
class InputRulesAcrossSourcesTest {
    private static final String BUCKET = "mergeline";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    private static S3MockServer server;
    private static S3Client client;
    private static Map<String, Case> cases;

    /**
     * One pair of directories and what validating them must give.
     *
     * @param expected "accepted" or the expected first reason as {@code code/detail/tensor}
     *     (absent parts as "-"); null when both sources must merely agree (hostile cases rejected
     *     only when weights are read)
     */
    record Case(Path adapter, Path base, InputLimits limits, String expected) {}

    @BeforeAll
    static void start() throws IOException {
        server = S3MockServer.start(dir.resolve("s3mock"), 0, BUCKET);
        client = S3Clients.create(new S3Settings(Optional.of(URI.create(server.endpoint())), S3MockServer.REGION,
                true, Optional.of(S3MockServer.ACCESS_KEY), Optional.of(S3MockServer.SECRET_KEY), 2));
        cases = new LinkedHashMap<>();
        hostileCases();
        committedDirectoryRules();
        builtDirectoryRules();
        for (Map.Entry<String, Case> c : cases.entrySet()) {
            upload(c.getValue().adapter(), prefix(c.getKey(), "adapter"));
            upload(c.getValue().base(), prefix(c.getKey(), "base"));
        }
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    static Stream<String> caseNames() {
        return cases.keySet().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("caseNames")
    void bothSourcesGiveTheSameOutcome(String name) throws Exception {
        Case c = cases.get(name);
        InputRules rules = new InputRules(c.limits());
        S3Objects s3 = new S3Objects(client);
        String local = outcome(rules, new LocalDirectory(c.adapter()), new LocalDirectory(c.base()));
        String remote = outcome(rules, S3Directory.list(s3, BUCKET, prefix(name, "adapter")),
                S3Directory.list(s3, BUCKET, prefix(name, "base")));
        assertEquals(local, remote, "local directory vs S3");
        assertEquals(local, validateCommand(c), "rules over a local directory vs mergeline validate");
        if (c.expected() != null) {
            assertTrue(local.startsWith(c.expected()), () -> "expected " + c.expected() + ", got " + local);
        }
    }

    @Test
    void everyRuleHasACase() {
        assertTrue(cases.size() > 60, "cases: " + cases.size());
        for (String code : List.of("ADAPTER_FILES_MISSING", "PICKLE_WEIGHTS_REFUSED", "ADAPTER_CONFIG_INVALID",
                "BASE_MODEL_UNKNOWN", "SAFETENSORS_HEADER_INVALID/INVALID_INDEX", "INPUT_TOO_LARGE/ADAPTER_BYTES",
                "INPUT_TOO_LARGE/TENSOR_COUNT")) {
            assertTrue(cases.values().stream().anyMatch(c -> c.expected() != null && c.expected().startsWith(code)),
                    code);
        }
    }

    /** The held-out input of issue 12: the functions' source must refuse it before any tensor data is read. */
    @Test
    void aTensorInTwoShardsIsRefusedFromHeadersAlone() throws Exception {
        Case c = cases.get("directory-rules/base-tensor-in-two-shards");
        S3Objects s3 = new S3Objects(client);
        S3Directory base = S3Directory.list(s3, BUCKET, prefix("directory-rules/base-tensor-in-two-shards", "base"));
        InputRules.Base read = new InputRules(c.limits()).base(base);
        assertEquals(1, read.problems().size(), read.problems()::toString);
        Reason r = read.problems().get(0);
        assertEquals("SAFETENSORS_HEADER_INVALID/INVALID_INDEX/model.embed_tokens.weight", describe(r));
        assertTrue(r.message().contains("stored in both"), r.message());
        long headers = 0;
        for (String shard : List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors")) {
            headers += SafetensorsHeader.read(c.base().resolve(shard)).dataStart();
        }
        long expected = Files.size(c.base().resolve("config.json"))
                + Files.size(c.base().resolve("model.safetensors.index.json")) + headers;
        assertEquals(expected, s3.bytesRead(), "bytes read: config, index and the three headers only");
    }

    private static <X extends IOException> String outcome(InputRules rules, InputSource<X> adapter,
            InputSource<X> base) throws X {
        try {
            return accepted(new Validator().validate(rules.read(adapter, base), MergeOptions.defaults()));
        } catch (RejectedException e) {
            return reasons(e);
        }
    }

    private static String validateCommand(Case c) throws IOException {
        try {
            return accepted(new OfflineMerger(new ReferenceMergeKernel(), c.limits())
                    .validate(c.base(), c.adapter(), MergeOptions.defaults()));
        } catch (RejectedException e) {
            return reasons(e);
        }
    }

    private static String accepted(MergePlan plan) {
        return "accepted: " + plan.tensors().size() + " tensors, " + plan.counts().merged() + " merged";
    }

    private static String reasons(RejectedException e) {
        List<String> lines = new ArrayList<>();
        e.reasons().forEach(r -> lines.add(describe(r)));
        return String.join("\n", lines);
    }

    private static String describe(Reason r) {
        return r.code() + "/" + (r.detail() == null ? "-" : r.detail()) + "/" + (r.tensor() == null ? "-" : r.tensor());
    }

    // ---- cases

    private static Path mergeEngine() {
        for (Path p : List.of(Path.of(".."), Path.of("merge-engine"), Path.of("."))) {
            if (Files.isDirectory(p.resolve("fixtures/hostile"))) {
                return p.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("merge-engine/fixtures not found from " + Path.of("").toAbsolutePath());
    }

    private static Path fixtureCase(String name) {
        return mergeEngine().resolve("fixtures/cases").resolve(name);
    }

    private static void hostileCases() throws IOException {
        Path corpus = mergeEngine().resolve("fixtures/hostile");
        try (Stream<Path> s = Files.list(corpus)) {
            for (Path c : s.filter(Files::isDirectory).sorted().toList()) {
                JsonNode e = JSON.readTree(c.resolve("expected.json").toFile());
                Path base = Files.isDirectory(c.resolve("base")) ? c.resolve("base")
                        : fixtureCase(e.path("base").asText("llama-bf16-plain")).resolve("base");
                String expected = e.path("rejectedBy").asText().equals("validate")
                        ? e.path("code").asText() + (e.has("detail") ? "/" + e.path("detail").asText() : "") : null;
                cases.put("hostile/" + c.getFileName(), new Case(c.resolve("adapter"), base, InputLimits.defaults(),
                        expected));
            }
        }
    }

    private static void committedDirectoryRules() throws IOException {
        Path rules = mergeEngine().resolve("fixtures/directory-rules");
        try (Stream<Path> s = Files.list(rules)) {
            for (Path c : s.filter(Files::isDirectory).sorted().toList()) {
                JsonNode e = JSON.readTree(c.resolve("expected.json").toFile());
                Path other = fixtureCase(e.path("adapter").asText());
                Path adapter = Files.isDirectory(c.resolve("adapter")) ? c.resolve("adapter") : other.resolve("adapter");
                Path base = Files.isDirectory(c.resolve("base")) ? c.resolve("base") : other.resolve("base");
                cases.put("directory-rules/" + c.getFileName(), new Case(adapter, base, InputLimits.defaults(),
                        e.path("code").asText() + "/" + e.path("detail").asText() + "/" + e.path("tensor").asText()));
            }
        }
    }

    /** A copy of a fixture case with one thing broken, for each rule of {@link InputRules}. */
    private static void builtDirectoryRules() throws IOException {
        built("valid-single-file", "llama-bf16-plain", (a, b) -> { }, "accepted");
        built("valid-sharded", "llama-sharded", (a, b) -> { }, "accepted");
        built("adapter-config-missing", "llama-bf16-plain", (a, b) -> Files.delete(a.resolve("adapter_config.json")),
                "ADAPTER_FILES_MISSING/-/adapter_config.json");
        built("adapter-weights-missing", "llama-bf16-plain",
                (a, b) -> Files.delete(a.resolve("adapter_model.safetensors")),
                "ADAPTER_FILES_MISSING/-/adapter_model.safetensors");
        built("adapter-pickle-only", "llama-bf16-plain", (a, b) -> Files.move(a.resolve("adapter_model.safetensors"),
                a.resolve("adapter_model.bin")), "PICKLE_WEIGHTS_REFUSED/-/adapter_model.bin");
        built("adapter-config-too-large", "llama-bf16-plain",
                (a, b) -> grow(a.resolve("adapter_config.json"), InputRules.MAX_CONFIG_BYTES + 1),
                "ADAPTER_CONFIG_INVALID/-/adapter_config.json");
        built("base-config-missing", "llama-bf16-plain", (a, b) -> Files.delete(b.resolve("config.json")),
                "BASE_MODEL_UNKNOWN/-/config.json");
        built("base-config-too-large", "llama-bf16-plain",
                (a, b) -> grow(b.resolve("config.json"), InputRules.MAX_CONFIG_BYTES + 1),
                "BASE_MODEL_UNKNOWN/-/config.json");
        built("base-empty", "llama-bf16-plain", (a, b) -> deleteAll(b), "BASE_MODEL_UNKNOWN/-/-");
        built("base-weights-missing", "llama-bf16-plain", (a, b) -> Files.delete(b.resolve("model.safetensors")),
                "BASE_MODEL_UNKNOWN/-/model.safetensors");
        built("base-pickle-only", "llama-bf16-plain", (a, b) -> Files.move(b.resolve("model.safetensors"),
                b.resolve("pytorch_model.bin")), "PICKLE_WEIGHTS_REFUSED/-/pytorch_model.bin");
        built("base-sharded-pickle-only", "llama-sharded", (a, b) -> {
            deleteAll(b, ".safetensors", ".index.json");
            Files.writeString(b.resolve("pytorch_model.bin.index.json"), "{}");
        }, "PICKLE_WEIGHTS_REFUSED/-/pytorch_model.bin.index.json");
        built("base-subdirectory-ignored", "llama-bf16-plain", (a, b) -> {
            Files.createDirectories(b.resolve("sub"));
            Files.move(b.resolve("model.safetensors"), b.resolve("sub/model.safetensors"));
        }, "BASE_MODEL_UNKNOWN/-/model.safetensors");
        built("index-not-json", "llama-sharded", (a, b) -> Files.writeString(b.resolve("model.safetensors.index.json"),
                "{\"weight_map\": "), "SAFETENSORS_HEADER_INVALID/INVALID_INDEX/model.safetensors.index.json");
        built("index-names-missing-shard", "llama-sharded",
                (a, b) -> Files.delete(b.resolve("model-00002-of-00003.safetensors")),
                "SAFETENSORS_HEADER_INVALID/INVALID_INDEX/");
        built("index-leaves-directory", "llama-sharded", (a, b) -> editIndex(b, map -> map.put(
                "model.norm.weight", "../model-00003-of-00003.safetensors")),
                "SAFETENSORS_HEADER_INVALID/INVALID_INDEX/model.norm.weight");
        built("index-omits-a-tensor", "llama-sharded", (a, b) -> editIndex(b, map -> map.remove("model.norm.weight")),
                "SAFETENSORS_HEADER_INVALID/INVALID_INDEX/model.norm.weight");
        built("index-maps-to-wrong-shard", "llama-sharded", (a, b) -> editIndex(b, map -> map.put(
                "model.embed_tokens.weight", "model-00002-of-00003.safetensors")),
                "SAFETENSORS_HEADER_INVALID/INVALID_INDEX/model.embed_tokens.weight");
        built("index-too-large", "llama-sharded", (a, b) -> grow(b.resolve("model.safetensors.index.json"), 40_000),
                "SAFETENSORS_HEADER_INVALID/INVALID_INDEX/model.safetensors.index.json", limits(30_000));
        built("shard-header-invalid", "llama-sharded", (a, b) -> {
            try (RandomAccessFile f = new RandomAccessFile(b.resolve("model-00002-of-00003.safetensors").toFile(), "rw")) {
                f.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 0, 0, 0, 0});
            }
        }, "SAFETENSORS_HEADER_INVALID/HEADER_TOO_LARGE/model-00002-of-00003.safetensors");
        built("adapter-bytes-above-limit", "llama-bf16-plain", (a, b) -> { },
                "INPUT_TOO_LARGE/ADAPTER_BYTES/adapter_model.safetensors", new InputLimits(1000, 1 << 20, 1000));
        built("adapter-tensors-above-limit", "llama-bf16-plain", (a, b) -> { }, "INPUT_TOO_LARGE/TENSOR_COUNT/",
                new InputLimits(InputLimits.DEFAULT_MAX_ADAPTER_BYTES, InputLimits.defaults().maxHeaderBytes(), 20));
    }

    private static InputLimits limits(long maxHeaderBytes) {
        return new InputLimits(InputLimits.DEFAULT_MAX_ADAPTER_BYTES, maxHeaderBytes, InputLimits.DEFAULT_MAX_TENSOR_COUNT);
    }

    @FunctionalInterface
    private interface Edit {
        void apply(Path adapter, Path base) throws IOException;
    }

    private static void built(String name, String fixture, Edit edit, String expected) throws IOException {
        built(name, fixture, edit, expected, InputLimits.defaults());
    }

    private static void built(String name, String fixture, Edit edit, String expected, InputLimits limits)
            throws IOException {
        Path adapter = copy(fixtureCase(fixture).resolve("adapter"), dir.resolve("built").resolve(name).resolve("adapter"));
        Path base = copy(fixtureCase(fixture).resolve("base"), dir.resolve("built").resolve(name).resolve("base"));
        edit.apply(adapter, base);
        cases.put("built/" + name, new Case(adapter, base, limits, expected));
    }

    private static void editIndex(Path base, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path index = base.resolve("model.safetensors.index.json");
        ObjectNode root = (ObjectNode) JSON.readTree(index.toFile());
        edit.accept((ObjectNode) root.get("weight_map"));
        JSON.writeValue(index.toFile(), root);
    }

    /** Pads a JSON file with trailing spaces (still valid JSON) to {@code bytes}. */
    private static void grow(Path file, long bytes) throws IOException {
        long size = Files.size(file);
        assertFalse(size >= bytes, file + " is already " + size + " bytes");
        Files.writeString(file, " ".repeat((int) (bytes - size)), java.nio.file.StandardOpenOption.APPEND);
    }

    private static void deleteAll(Path dir, String... suffixes) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (suffixes.length == 0 || Stream.of(suffixes).anyMatch(n::endsWith)) {
                    Files.delete(p);
                }
            }
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }

    private static String prefix(String caseName, String side) {
        return "cases/" + caseName + "/" + side + "/";
    }

    /** Every file under {@code local}, subdirectories included, under {@code prefix}. */
    private static void upload(Path local, String prefix) throws IOException {
        try (Stream<Path> s = Files.walk(local)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                String key = prefix + local.relativize(p).toString().replace('\\', '/');
                client.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromFile(p));
            }
        }
    }
}
