package dev.mergeline.core.hostile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.SafetensorsException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every case of the committed hostile-input corpus ({@code merge-engine/fixtures/hostile/}) is
 * rejected by {@code validate} and by {@code merge} with the reason code its {@code expected.json}
 * names: a {@link RejectedException}, never another exception, never a hang, and never a
 * {@code .safetensors} file in the output directory.
 */
class HostileCorpusTest {
    /**
     * Per case, validate and merge together. Generous on purpose: every case takes well under a
     * second on an idle machine, and without its budgets a catastrophic pattern would run for hours;
     * a shared, throttled CI machine has been seen to run the regex cases 40 times slower than usual.
     */
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The hostile-input classes the corpus must cover (issue 6), by case name. */
    static final List<String> REQUIRED = List.of(
            // safetensors headers
            "header-length-2pow63", "header-length-100mb-plus-1", "header-length-past-eof", "header-invalid-utf8",
            "header-deeply-nested", "header-huge-tensor-name", "header-duplicate-tensor", "header-offsets-overlap",
            "header-offsets-past-end", "header-offsets-gap", "header-size-mismatch", "header-shape-overflow",
            "header-trailing-bytes",
            // adapter_config.json
            "config-r-zero", "config-r-negative", "config-r-2pow31", "config-alpha-nan", "config-alpha-infinity",
            "config-r-string", "config-target-modules-number", "config-regex-catastrophic",
            "config-peft-type-unknown", "config-unknown-field",
            // weights
            "weights-nan-lora-a", "weights-inf-lora-b", "weights-nan-dora-magnitude", "weights-pickle-only",
            // FP8 block-scaled bases (issue 14)
            "base-fp8-scale-grid-mismatch", "base-fp8-scale-missing", "base-fp8-scale-nan", "base-fp8-scale-infinite",
            "base-fp8-scale-negative");

    @TempDir
    Path tmp;

    static Path corpus() {
        return HostileCorpus.mergeEngineDir().resolve(HostileCorpus.DIR);
    }

    static Stream<String> cases() throws IOException {
        try (Stream<Path> s = Files.list(corpus())) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void isRejectedWithItsReasonCode(String name) throws IOException {
        Path dir = corpus().resolve(name);
        JsonNode expected = JSON.readTree(dir.resolve("expected.json").toFile());
        Path base = Files.isDirectory(dir.resolve("base")) ? dir.resolve("base")
                : PeftFixtures.caseDir(expected.path("base").asText(HostileCorpus.DEFAULT_BASE)).resolve("base");
        Path adapter = dir.resolve("adapter");
        Path out = tmp.resolve("out");
        OfflineMerger merger = new OfflineMerger(new ReferenceMergeKernel());
        assertTimeoutPreemptively(LIMIT, () -> {
            if (expected.path("rejectedBy").asText().equals("validate")) {
                assertRejected(expected, thrown(() -> merger.validate(base, adapter, MergeOptions.defaults())));
            } else {
                assertDoesNotThrow(() -> merger.validate(base, adapter, MergeOptions.defaults()),
                        "validation reads headers only and must accept this case");
            }
            assertRejected(expected, thrown(() -> merger.merge(base, adapter, out, MergeOptions.defaults())));
        }, () -> name + " took longer than " + LIMIT);
        assertNoSafetensors(out);
    }

    @Test
    void coversEveryHostileInputClass() throws IOException {
        Set<String> present = new TreeSet<>(cases().toList());
        List<String> missing = new ArrayList<>(REQUIRED);
        missing.removeAll(present);
        assertEquals(List.of(), missing, "hostile-input classes without a corpus case");

        Set<SafetensorsException.Reason> details = EnumSet.noneOf(SafetensorsException.Reason.class);
        for (String name : present) {
            JsonNode e = JSON.readTree(corpus().resolve(name).resolve("expected.json").toFile());
            ReasonCode code = ReasonCode.valueOf(e.path("code").asText());
            assertFalse(e.path("note").asText().isBlank(), name + " has no note");
            assertTrue(Set.of("validate", "merge").contains(e.path("rejectedBy").asText()), name);
            if (code == ReasonCode.SAFETENSORS_HEADER_INVALID) {
                details.add(SafetensorsException.Reason.valueOf(e.path("detail").asText()));
            }
        }
        Set<SafetensorsException.Reason> adapterFileReasons = EnumSet.allOf(SafetensorsException.Reason.class);
        adapterFileReasons.remove(SafetensorsException.Reason.INVALID_INDEX); // sharded bases only
        // reported as INPUT_TOO_LARGE (TENSOR_COUNT): ReasonCodeTest, SafetensorsHeaderTest
        adapterFileReasons.remove(SafetensorsException.Reason.TOO_MANY_TENSORS);
        assertEquals(adapterFileReasons, details, "every header sub-reason has a corpus case");
    }

    /** The committed files are exactly what {@link HostileCorpus} generates (set -Dmergeline.hostile.write=true to rewrite them). */
    @Test
    void committedCorpusIsWhatTheGeneratorWrites() throws IOException {
        Path mergeEngine = HostileCorpus.mergeEngineDir();
        if (Boolean.getBoolean("mergeline.hostile.write")) {
            HostileCorpus.write(mergeEngine);
        }
        Map<String, byte[]> generated = HostileCorpus.files(mergeEngine);
        for (Map.Entry<String, byte[]> e : generated.entrySet()) {
            Path p = mergeEngine.resolve(e.getKey());
            assertTrue(Files.isRegularFile(p), () -> p + " is missing: regenerate the corpus (see HostileCorpus)");
            assertArrayEquals(e.getValue(), Files.readAllBytes(p), () -> p + " differs from what HostileCorpus writes");
        }
        Set<String> generatedCases = new TreeSet<>();
        generated.keySet().stream().filter(k -> k.startsWith(HostileCorpus.DIR + "/"))
                .forEach(k -> generatedCases.add(k.split("/")[2]));
        assertEquals(generatedCases, new TreeSet<>(cases().toList()), "case directories HostileCorpus does not write");
    }

    /** A config far above the 1 MiB limit (a sparse file) is refused from its size, without reading it. */
    @Test
    void oversizedConfigIsRefusedUnread() throws Exception {
        Path adapter = Files.createDirectories(tmp.resolve("adapter"));
        Path plain = PeftFixtures.caseDir(HostileCorpus.DEFAULT_BASE);
        Files.copy(plain.resolve("adapter/adapter_model.safetensors"), adapter.resolve("adapter_model.safetensors"));
        try (RandomAccessFile f = new RandomAccessFile(adapter.resolve("adapter_config.json").toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        OfflineMerger merger = new OfflineMerger(new ReferenceMergeKernel());
        Path out = tmp.resolve("out");
        assertTimeoutPreemptively(LIMIT, () -> {
            for (Throwable t : List.of(thrown(() -> merger.validate(plain.resolve("base"), adapter, MergeOptions.defaults())),
                    thrown(() -> merger.merge(plain.resolve("base"), adapter, out, MergeOptions.defaults())))) {
                RejectedException r = assertInstanceOf(RejectedException.class, t);
                assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, r.reasons().get(0).code());
                assertTrue(r.reasons().get(0).message().contains("too large"), r.reasons().get(0).message());
            }
        });
        assertNoSafetensors(out);
    }

    private static void assertRejected(JsonNode expected, Throwable thrown) {
        if (!(thrown instanceof RejectedException rejected)) {
            fail("expected a RejectedException, got " + describe(thrown));
            return;
        }
        ReasonCode code = ReasonCode.valueOf(expected.path("code").asText());
        List<Reason> reasons = rejected.reasons();
        assertFalse(reasons.isEmpty());
        for (Reason r : reasons) {
            assertEquals(code, r.code(), () -> "reasons: " + reasons);
            assertFalse(r.message().isBlank());
            if (expected.has("detail")) {
                assertEquals(expected.path("detail").asText(), r.detail(), () -> "reasons: " + reasons);
            }
            if (expected.has("messageContains")) {
                assertTrue(r.message().contains(expected.path("messageContains").asText()), r::message);
            }
        }
    }

    private static void assertNoSafetensors(Path out) throws IOException {
        if (Files.exists(out)) {
            try (Stream<Path> s = Files.walk(out)) {
                List<Path> written = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList();
                assertEquals(List.of(), written, "a rejected merge wrote safetensors files");
            }
        }
    }

    @FunctionalInterface
    private interface Call {
        void run() throws Throwable;
    }

    private static Throwable thrown(Call call) {
        try {
            call.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private static String describe(Throwable t) {
        if (t == null) {
            return "no exception";
        }
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString();
    }
}
