package dev.mergeline.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.mergeline.core.merge.FloatBits;
import dev.mergeline.core.merge.LowRankBlock;
import dev.mergeline.core.merge.LowRankBlock.DeltaRounding;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.onnx.Blocks.Mode;
import dev.mergeline.onnx.MergeGraphs.ConvertKey;
import dev.mergeline.onnx.MergeGraphs.LowRankKey;
import dev.mergeline.safetensors.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class OnnxMergeKernelTest {

    private static OnnxMergeKernel kernel;
    private static final ReferenceMergeKernel REFERENCE = new ReferenceMergeKernel();

    @BeforeAll
    static void createKernel() {
        kernel = OnnxMergeKernel.create(false);
    }

    @AfterAll
    static void closeKernel() {
        kernel.close();
    }

    static Stream<Arguments> combinations() {
        List<Arguments> all = new ArrayList<>();
        for (DType base : Blocks.TYPES) {
            for (DType out : Blocks.TYPES) {
                for (Mode mode : Mode.values()) {
                    all.add(Arguments.of(base, out, mode));
                }
            }
        }
        return all.stream();
    }

    // ---- providers and graphs ----

    @Test
    void runsOnTheCpuWhenAskedTo() {
        assertEquals("CPU", kernel.executionProvider());
    }

    @Test
    void fallsBackToTheCpuWithoutCuda() {
        try (OnnxMergeKernel preferring = OnnxMergeKernel.create(true)) {
            if (OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
                assertTrue(List.of("CPU", "CUDA").contains(preferring.executionProvider()));
            } else {
                assertEquals("CPU", preferring.executionProvider());
            }
            float[] values = {1 + 0x1p-8f, -3};
            ByteBuffer out = ByteBuffer.allocateDirect(4);
            preferring.convert(Blocks.direct(Blocks.encode(values, DType.F32)), DType.F32, out, DType.BF16, 2);
            assertEquals(0x3F80, FloatBits.getBits(out, DType.BF16, 0));
            assertEquals(0xC040, FloatBits.getBits(out, DType.BF16, 1));
        }
    }

    @Test
    void profilerWritesOneTracePerSessionWhenAsked(@TempDir Path dir) throws IOException {
        System.setProperty(OnnxMergeKernel.PROFILE_PROPERTY, dir.resolve("ort").toString());
        int sessions;
        try (OnnxMergeKernel profiled = OnnxMergeKernel.create(false)) {
            ByteBuffer out = ByteBuffer.allocateDirect(4);
            profiled.convert(Blocks.direct(Blocks.encode(new float[] {1, 2}, DType.F32)), DType.F32, out, DType.BF16, 2);
            sessions = profiled.sessionCount();
        } finally {
            System.clearProperty(OnnxMergeKernel.PROFILE_PROPERTY);
        }
        List<Path> traces;
        try (Stream<Path> files = Files.list(dir)) {
            traces = files.filter(f -> f.getFileName().toString().startsWith("ort-")).toList();
        }
        // Sessions created within one second would share ONNX Runtime's timestamped name without the
        // per-session prefix, and overwrite each other: the start-up probe alone creates several.
        assertTrue(sessions >= 5, sessions + " sessions");
        assertEquals(sessions, traces.size(), traces.toString());
        String trace = Files.readString(traces.get(0));
        assertTrue(trace.contains("\"cat\" : \"Node\"") || trace.contains("\"cat\":\"Node\""), trace);
        assertTrue(trace.contains("\"op_name\""), trace);
    }

    @Test
    void everyGraphLoadsWithTheInputsTheKernelFeeds() throws OrtException {
        // A kernel of its own: every session has its own intra-op thread pool until closed.
        Set<OrtSession> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
        int combinations = 0;
        try (OnnxMergeKernel fresh = OnnxMergeKernel.create(false, 1, 0)) { // the probe's sessions: input scales
            for (DType base : Blocks.TYPES) {
                for (DType out : Blocks.TYPES) {
                    List<LowRankKey> keys = new ArrayList<>();
                    for (Float fused : new Float[] {null, 0.3f}) {
                        for (DeltaRounding rounding : DeltaRounding.values()) {
                            keys.add(new LowRankKey(base, out, rounding, false, false, fused));
                        }
                        keys.add(new LowRankKey(base, out, DeltaRounding.FUSED, true, false, fused));
                        keys.add(new LowRankKey(base, out, DeltaRounding.FUSED, true, true, fused));
                    }
                    for (LowRankKey key : keys) {
                        OrtSession session = fresh.session(key, () -> MergeGraphs.lowRank(key));
                        Set<String> inputs = new TreeSet<>(List.of(MergeGraphs.BASE, MergeGraphs.LEFT, MergeGraphs.RIGHT));
                        if (key.fusedScale() == null) {
                            inputs.add(MergeGraphs.SCALE);
                        }
                        if (key.dora()) {
                            inputs.add(MergeGraphs.MAGNITUDE);
                        }
                        assertEquals(inputs, new TreeSet<>(session.getInputNames()), key::toString);
                        assertEquals(Set.of(MergeGraphs.OUT), session.getOutputNames(), key::toString);
                        distinct.add(session);
                    }
                    ConvertKey key = new ConvertKey(base, out);
                    OrtSession convert = fresh.session(key, () -> MergeGraphs.convert(key));
                    assertEquals(Set.of(MergeGraphs.IN), convert.getInputNames(), key::toString);
                    assertEquals(Set.of(MergeGraphs.OUT), convert.getOutputNames(), key::toString);
                    distinct.add(convert);
                    combinations += keys.size() + 1;
                }
            }
            assertEquals(combinations, distinct.size(), "one session per combination");
            assertEquals(combinations, fresh.sessionCount());
        }
    }

    @Test
    void sessionsAreCachedPerCombination() {
        LowRankKey key = new LowRankKey(DType.BF16, DType.BF16, DeltaRounding.FUSED, false, false, null);
        assertTrue(kernel.session(key, () -> MergeGraphs.lowRank(key))
                == kernel.session(new LowRankKey(DType.BF16, DType.BF16, DeltaRounding.FUSED, false, false, null),
                        () -> fail("cached session expected")));
    }

    /**
     * The scale fixed into the graph ({@code FusedMatMul}) gives the same bits as the scale fed to a
     * {@code Mul}, for every type combination and mode, ranks up to the fusion limit and scales that
     * are not powers of two; blocks above the limit, and scales past the session limit, take the
     * scale as an input.
     */
    @Test
    void aFixedScaleGivesTheSameBitsAsAScaleInput() {
        float[] scales = {0.3f, 1.7f, (float) (16 / Math.sqrt(8)), 2.0f, 0.0625f, 3.3e-3f};
        int[] ranks = {1, 7, 16, 64, OnnxMergeKernel.MAX_FUSED_RANK, OnnxMergeKernel.MAX_FUSED_RANK + 1};
        Random random = new Random(11);
        try (OnnxMergeKernel inputScale = OnnxMergeKernel.create(false, 1, 0)) {
            for (DType base : Blocks.TYPES) {
                for (DType out : Blocks.TYPES) {
                    try (OnnxMergeKernel fixedScale = OnnxMergeKernel.create(false, 1, 1000)) {
                        for (Mode mode : Mode.values()) {
                            for (int i = 0; i < scales.length; i++) {
                                int rank = ranks[i];
                                Blocks blocks = Blocks.random(random, base, out, mode, 33, 70, rank).withScale(scales[i]);
                                LowRankBlock fixed = blocks.block();
                                LowRankBlock fed = blocks.block();
                                fixedScale.lowRank(fixed);
                                inputScale.lowRank(fed);
                                assertEquals(0, maxUlps(out, fixed.out(), fed.out(), 33 * 70), blocks::toString);
                                LowRankKey used = new LowRankKey(base, out, fixed.rounding(), fixed.dora() != null,
                                        fixed.dora() != null && fixed.dora().perColumn(),
                                        rank <= OnnxMergeKernel.MAX_FUSED_RANK ? scales[i] : null);
                                fixedScale.session(used, () -> fail("no session for " + used));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void scalesPastTheSessionLimitAreInputs() {
        Random random = new Random(5);
        try (OnnxMergeKernel limited = OnnxMergeKernel.create(false, 1, 2)) {
            int before = limited.sessionCount(); // the start-up probe's sessions
            for (int i = 0; i < 5; i++) {
                Blocks blocks = Blocks.random(random, DType.BF16, DType.BF16, Mode.FUSED, 8, 9, 4).withScale(0.1f * (i + 1));
                LowRankBlock block = blocks.block();
                limited.lowRank(block);
                assertWithinTolerance(blocks, block, referenceOf(blocks));
            }
            // two fixed-scale sessions, then one that takes the scale as an input for the other three scales
            assertTrue(limited.sessionCount() - before <= 3, () -> (limited.sessionCount() - before) + " new sessions");
            LowRankKey fed = new LowRankKey(DType.BF16, DType.BF16, DeltaRounding.FUSED, false, false, null);
            limited.session(fed, () -> fail("no input-scale session"));
        }
    }

    // ---- low-rank merges against the reference ----

    @ParameterizedTest(name = "{0}->{1} {2}")
    @MethodSource("combinations")
    void randomBlocksMatchTheReference(DType base, DType out, Mode mode) {
        Random random = new Random(base.ordinal() * 1000L + out.ordinal() * 10L + mode.ordinal());
        int[][] shapes = {{1, 1}, {64, 200}, {200, 64}, {3, 5}, {17, 1}, {1, 33}};
        for (int[] shape : shapes) {
            int rank = 1 + random.nextInt(16);
            compareWithReference(Blocks.random(random, base, out, mode, shape[0], shape[1], rank));
        }
        for (int rank = 1; rank <= 16; rank++) {
            compareWithReference(Blocks.random(random, base, out, mode, 9, 23, rank));
        }
    }

    @ParameterizedTest(name = "{0}->{1} {2}")
    @MethodSource("combinations")
    void exactArithmeticIsBitExact(DType base, DType out, Mode mode) {
        // Exact inputs leave only the roundings the spec prescribes: any skipped or extra Cast,
        // truncating conversion or fused rounding step shows up as a bit difference.
        Random random = new Random(7 + base.ordinal() * 100L + out.ordinal() * 10L + mode.ordinal());
        for (int[] shape : new int[][] {{64, 200, 16}, {1, 1, 1}, {5, 3, 2}, {40, 7, 8}}) {
            Blocks blocks = Blocks.exact(random, base, out, mode, shape[0], shape[1], shape[2]);
            assertEquals(0, maxUlps(blocks), blocks::toString);
        }
    }

    @Test
    void deltaFirstRoundsTheDeltaBeforeAdding() {
        // see ReferenceMergeKernelTest: w = 1 + 2^-7 and d = 0.0039 in bf16; w = 1 + 2^-10, d = 2^-11 - 2^-23 in f16
        assertSingle(DType.BF16, DeltaRounding.FUSED, 1 + 0x1p-7f, 0.0039f, 1 + 0x1p-7f);
        assertSingle(DType.BF16, DeltaRounding.DELTA_FIRST, 1 + 0x1p-7f, 0.0039f, 1 + 0x1p-6f);
        assertSingle(DType.F16, DeltaRounding.FUSED, 1 + 0x1p-10f, 0x1p-11f - 0x1p-23f, 1 + 0x1p-10f);
        assertSingle(DType.F16, DeltaRounding.DELTA_FIRST, 1 + 0x1p-10f, 0x1p-11f - 0x1p-23f, 1 + 0x1p-9f);
    }

    private static void assertSingle(DType type, DeltaRounding rounding, float w, float d, float expected) {
        ByteBuffer out = ByteBuffer.allocateDirect(type.byteSize());
        kernel.lowRank(new LowRankBlock(Blocks.direct(Blocks.encode(new float[] {w}, type)), type, type,
                Blocks.direct(Blocks.encode(new float[] {d}, DType.F32)),
                Blocks.direct(Blocks.encode(new float[] {1}, DType.F32)), 1, 1, 1, 1f, rounding, null, out));
        assertEquals(expected, FloatBits.get(out, type, 0), type + " " + rounding);
    }

    @Test
    void concurrentCallsShareSessions() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(6);
        Set<Mode> used = ConcurrentHashMap.newKeySet();
        try (OnnxMergeKernel fresh = OnnxMergeKernel.create(false)) {
            int probed = fresh.sessionCount(); // the start-up probe's graphs, bf16 Linear LoRA among them
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 12; t++) {
                long seed = 99 + t;
                futures.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    for (int i = 0; i < 5; i++) {
                        Mode mode = Mode.values()[random.nextInt(Mode.values().length)];
                        used.add(mode);
                        Blocks blocks = Blocks.random(random, DType.BF16, DType.BF16, mode, 32, 48, 8).withScale(0.75f);
                        LowRankBlock block = blocks.block();
                        fresh.lowRank(block);
                        assertWithinTolerance(blocks, block, referenceOf(blocks));
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
            // 60 calls from 6 threads, one session per graph: each mode is its own graph here (with the
            // scale 0.75 fixed in it, which the start-up probe does not use).
            assertEquals(Mode.values().length, used.size(), "the seeds exercise every mode");
            assertEquals(probed + used.size(), fresh.sessionCount(), "sessions created");
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- buffers ----

    @Test
    void readOnlyMappedSlicesAreUsedInPlace(@TempDir Path dir) throws IOException {
        Random random = new Random(5);
        for (Mode mode : Mode.values()) {
            for (DType type : Blocks.TYPES) {
                Blocks blocks = Blocks.random(random, type, type, mode, 24, 40, 4);
                byte[][] parts = {
                    Blocks.encode(blocks.base(), type),
                    Blocks.encode(blocks.left(), DType.F32),
                    Blocks.encode(blocks.right(), DType.F32),
                    blocks.magnitude() == null ? new byte[0] : Blocks.encode(blocks.magnitude(), DType.F32)
                };
                // odd offsets: nothing in the file is aligned
                Path file = dir.resolve(mode + "-" + type + ".bin");
                int[] offsets = new int[parts.length];
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                    long position = 3;
                    for (int i = 0; i < parts.length; i++) {
                        offsets[i] = (int) position;
                        channel.write(ByteBuffer.wrap(parts[i]), position);
                        position += parts[i].length + 5;
                    }
                    channel.write(ByteBuffer.wrap(new byte[7]), position);
                }
                MappedByteBuffer mapped;
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                    mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
                }
                ByteBuffer[] slices = new ByteBuffer[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    slices[i] = mapped.slice(offsets[i], parts[i].length);
                    assertTrue(slices[i].isReadOnly() && slices[i].isDirect());
                }
                ByteBuffer out = ByteBuffer.allocateDirect(blocks.rows() * blocks.cols() * type.byteSize());
                LowRankBlock block = blocks.block(slices[0], slices[1], slices[2],
                        blocks.magnitude() == null ? null : slices[3], out);
                kernel.lowRank(block);
                assertWithinTolerance(blocks, block, referenceOf(blocks));
            }
        }
    }

    @Test
    void heapBuffersAndWindowsWork() {
        Random random = new Random(11);
        Blocks blocks = Blocks.random(random, DType.F16, DType.BF16, Mode.DORA_ROW, 10, 30, 3);
        ByteBuffer base = window(Blocks.encode(blocks.base(), DType.F16), 5, false);
        ByteBuffer left = window(Blocks.encode(blocks.left(), DType.F32), 2, true);
        ByteBuffer right = window(Blocks.encode(blocks.right(), DType.F32), 1, false);
        ByteBuffer magnitude = window(Blocks.encode(blocks.magnitude(), DType.F32), 4, true);
        for (boolean directOut : new boolean[] {false, true}) {
            int bytes = blocks.rows() * blocks.cols() * 2;
            ByteBuffer out = directOut ? ByteBuffer.allocateDirect(bytes + 6) : ByteBuffer.allocate(bytes + 6);
            for (int i = 0; i < out.capacity(); i++) {
                out.put(i, (byte) 0x5A);
            }
            out.position(3).limit(3 + bytes);
            LowRankBlock block = blocks.block(base, left, right, magnitude, out);
            kernel.lowRank(block);
            assertEquals(5, base.position());
            assertEquals(2, left.position());
            assertEquals(1, right.position());
            assertEquals(4, magnitude.position());
            assertEquals(3, out.position());
            assertEquals(3 + bytes, out.limit());
            ByteBuffer whole = out.duplicate().clear();
            for (int i : new int[] {0, 1, 2, 3 + bytes, 4 + bytes, 5 + bytes}) {
                assertEquals(0x5A, whole.get(i), "byte " + i + " outside the window");
            }
            assertWithinTolerance(blocks, block, referenceOf(blocks));
        }
    }

    @Test
    void readOnlyHeapOutputIsRejected() {
        Blocks blocks = Blocks.random(new Random(3), DType.F32, DType.F32, Mode.FUSED, 2, 2, 1);
        LowRankBlock block = blocks.block();
        LowRankBlock readOnlyOut = blocks.block(block.base(), block.left(), block.right(), null,
                ByteBuffer.allocate(16).asReadOnlyBuffer());
        assertThrows(java.nio.ReadOnlyBufferException.class, () -> kernel.lowRank(readOnlyOut));
    }

    @Test
    void emptyBlocksAndConversionsAreNoOps() {
        ByteBuffer empty = ByteBuffer.allocateDirect(0);
        ByteBuffer around = ByteBuffer.allocateDirect(8);
        for (int i = 0; i < 8; i++) {
            around.put(i, (byte) 0x5a);
        }
        ByteBuffer out = around.slice(4, 0); // an empty window inside bytes that must stay as they are
        try (OnnxMergeKernel fresh = OnnxMergeKernel.create(false)) {
            int probed = fresh.sessionCount();
            fresh.lowRank(new LowRankBlock(empty, DType.BF16, DType.BF16, empty,
                    Blocks.direct(Blocks.encode(new float[] {1, 2}, DType.F32)), 0, 2, 1, 1f, DeltaRounding.FUSED, null,
                    out));
            fresh.convert(empty, DType.F32, out, DType.BF16, 0);
            assertEquals(probed, fresh.sessionCount(), "an empty block needs no graph");
        }
        for (int i = 0; i < 8; i++) {
            assertEquals((byte) 0x5a, around.get(i), "byte " + i + " around the output was written");
        }
        assertEquals(0, out.position());
    }

    // ---- conversions ----

    @Test
    void castRoundsCraftedValuesLikeFloatBits() {
        float[] crafted = {
            1 + 0x1p-8f, 1 + 3 * 0x1p-8f, Math.nextUp(1 + 0x1p-8f), Math.nextDown(1 + 0x1p-8f),
            1 + 0x1p-11f, 1 + 3 * 0x1p-11f, Math.nextUp(1 + 0x1p-11f), Math.nextDown(1 + 3 * 0x1p-11f),
            -(1 + 0x1p-8f), -(1 + 3 * 0x1p-11f),
            0x1p-25f, Math.nextUp(0x1p-25f), 3 * 0x1p-25f, 5 * 0x1p-25f, 1023.5f * 0x1p-24f, 0x1p-24f, 0x1p-14f,
            Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL,
            65504f, 65519f, 65520f, -65520f, 1e9f, Float.MAX_VALUE, -Float.MAX_VALUE,
            Float.intBitsToFloat(0x7F7F7FFF), Float.intBitsToFloat(0x7F7F8000),
            0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.NaN, Float.intBitsToFloat(0x7F800001), Float.intBitsToFloat(0xFFC00000), Float.intBitsToFloat(0xFF800001),
        };
        byte[] bytes = Blocks.encode(crafted, DType.F32); // raw bits, NaN payloads included
        for (DType to : new DType[] {DType.F16, DType.BF16}) {
            assertConvertMatches(Blocks.direct(bytes), DType.F32, to, crafted.length);
        }
    }

    @Test
    void castMatchesFloatBitsOnRandomFloats() {
        Random random = new Random(1);
        int n = 1 << 20;
        ByteBuffer in = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            // half arbitrary bit patterns, half values around the f16 range
            int bits = (i & 1) == 0 ? random.nextInt() : Float.floatToRawIntBits((float) (random.nextGaussian() * 100));
            in.putInt(4 * i, bits);
        }
        for (DType to : new DType[] {DType.F16, DType.BF16}) {
            assertConvertMatches(in, DType.F32, to, n);
        }
    }

    @Test
    void castBetween16BitTypesAndUpIsExactForEveryValue() {
        int n = 1 << 16;
        ByteBuffer all = ByteBuffer.allocateDirect(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            all.putShort(2 * i, (short) i);
        }
        for (DType from : new DType[] {DType.F16, DType.BF16}) {
            for (DType to : Blocks.TYPES) {
                assertConvertMatches(all, from, to, n);
            }
        }
    }

    @Test
    void convertRejectsMismatchesAndClosedKernels() {
        ByteBuffer four = ByteBuffer.allocateDirect(4);
        assertThrows(IllegalArgumentException.class, () -> kernel.convert(four, DType.F32, four, DType.F16, 1));
        assertThrows(IllegalArgumentException.class, () -> kernel.convert(four, DType.I32, four, DType.F32, 1));
        OnnxMergeKernel closed = OnnxMergeKernel.create(false);
        closed.close();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.convert(four, DType.F32, four, DType.F32, 1));
    }

    private static void assertConvertMatches(ByteBuffer in, DType from, DType to, int n) {
        ByteBuffer expected = ByteBuffer.allocate(n * to.byteSize());
        ByteBuffer actual = ByteBuffer.allocateDirect(n * to.byteSize());
        REFERENCE.convert(in, from, expected, to, n);
        kernel.convert(in, from, actual, to, n);
        assertEquals(0, in.position());
        int nanMismatch = 0;
        for (int i = 0; i < n; i++) {
            int e = FloatBits.getBits(expected, to, i);
            int a = FloatBits.getBits(actual, to, i);
            if (FloatBits.isNaN(e, to) || FloatBits.isNaN(a, to)) {
                // NaN payloads are not normative; NaN must stay NaN, numbers must stay numbers
                assertEquals(FloatBits.isNaN(e, to), FloatBits.isNaN(a, to), "NaN-ness at " + i);
                nanMismatch += e == a ? 0 : 1;
                continue;
            }
            if (e != a) {
                int input = FloatBits.getBits(in, from, i);
                fail(from + "->" + to + " of 0x" + Integer.toHexString(input) + ": expected 0x"
                        + Integer.toHexString(e) + " but ONNX Runtime gave 0x" + Integer.toHexString(a));
            }
        }
        if (nanMismatch > 0) {
            System.out.println(from + "->" + to + ": " + nanMismatch + " NaNs with other payload bits than FloatBits");
        }
    }

    // ---- comparison helpers ----

    private static ByteBuffer referenceOf(Blocks blocks) {
        LowRankBlock block = blocks.block();
        REFERENCE.lowRank(block);
        return block.out();
    }

    private static void compareWithReference(Blocks blocks) {
        LowRankBlock block = blocks.block();
        kernel.lowRank(block);
        assertWithinTolerance(blocks, block, referenceOf(blocks));
    }

    /** Largest ulp distance between ONNX and reference output over the block. */
    private static long maxUlps(Blocks blocks) {
        LowRankBlock block = blocks.block();
        kernel.lowRank(block);
        return maxUlps(blocks.outType(), block.out(), referenceOf(blocks), blocks.rows() * blocks.cols());
    }

    private static long maxUlps(DType type, ByteBuffer actual, ByteBuffer expected, int n) {
        long worst = 0;
        for (int i = 0; i < n; i++) {
            worst = Math.max(worst, FloatBits.ulpDistance(FloatBits.getBits(actual, type, i), FloatBits.getBits(expected, type, i), type));
        }
        return worst;
    }

    private static void assertWithinTolerance(Blocks blocks, LowRankBlock block, ByteBuffer expected) {
        DType type = blocks.outType();
        long tolerance = type == DType.F32 ? 4 : 1;
        long worst = maxUlps(type, block.out(), expected, blocks.rows() * blocks.cols());
        assertTrue(worst <= tolerance, () -> blocks + ": " + worst + " ulps from the reference");
    }

    private static ByteBuffer window(byte[] bytes, int offset, boolean direct) {
        ByteBuffer buffer = direct ? ByteBuffer.allocateDirect(offset + bytes.length + 3)
                : ByteBuffer.allocate(offset + bytes.length + 3);
        buffer.position(offset);
        buffer.put(bytes);
        buffer.position(offset).limit(offset + bytes.length);
        return buffer;
    }
}
