package dev.mergeline.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import dev.mergeline.core.merge.LowRankBlock;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.onnx.MergeGraphs.ConvertKey;
import dev.mergeline.onnx.MergeGraphs.LowRankKey;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import dev.mergeline.core.merge.BufferSizes;
import dev.mergeline.core.merge.KernelProbe;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * {@link MergeKernel} on ONNX Runtime, CUDA or CPU.
 *
 * <p>Each distinct (base type, output type, rounding, DoRA, per-column, fixed scale) combination
 * gets one small graph ({@link MergeGraphs}) and one lazily created, cached {@link OrtSession};
 * sessions are thread-safe, so concurrent {@link #lowRank} calls are fine. On the CPU the scale of
 * a block of rank ≤ {@value #MAX_FUSED_RANK} is fixed into the graph (one {@code FusedMatMul}
 * instead of {@code MatMul} and {@code Mul}: one pass less over every block, same bits), for the
 * first {@value #FUSED_SESSIONS} scales of the kernel's life; any other block takes it as an input. Inputs and outputs are used in place
 * where the runtime allows it (direct buffers, see {@link TensorScope}).
 *
 * <p>Rounding: ORT 1.24's CPU {@code Cast} rounds float→bfloat16 and float→float16 to nearest
 * even, with overflow to infinity, exact subnormals and NaN kept NaN; {@code OnnxMergeKernelTest}
 * checks crafted ties, a million random floats and every 16-bit value bit for bit against
 * {@code FloatBits}. So every rounding happens inside the graph and no Java post-rounding is
 * needed. Only NaN payloads differ (ORT's scalar path returns the canonical ±0x7FC0 / ±0x7E00,
 * its vectorized path keeps payload bits), which no caller may rely on. Default graph
 * optimizations are kept: no fusion applies to the MatMul (with the scale a graph input) or to the
 * FusedMatMul and the Add after it, and the Cast(out)→Cast(float) pairs survive (the bit-exact tests
 * on exactly representable data fail if either changes, and {@code OnnxMergeKernelTest} checks that
 * both graphs give the same bits). Plain LoRA outputs differ from the reference only through the MatMul's
 * summation order and FMA use: at most 2 fp32 ulps in the tests (16-bit outputs: none seen),
 * DoRA at most 3 fp32 ulps.
 *
 * <p>CUDA: {@link #create(boolean) create(true)} asks for the CUDA execution provider on device 0
 * with TF32 disabled (TF32 matmuls would keep only 10 mantissa bits of the delta) and with ONNX
 * Runtime's CPU fallback disabled ({@value #DISABLE_CPU_FALLBACK}): a graph node the CUDA provider
 * cannot run fails the session instead of running on the CPU unseen, so the provider this kernel
 * reports is the one that ran every node. Before it is returned, every kernel passes
 * {@link KernelProbe}: the real merge graphs on small blocks, compared with the reference kernel.
 * A CUDA kernel that fails to load, to run or to agree is closed, the reason is logged once, and
 * the CPU is used; a CPU kernel that fails the probe is an error.
 */
public final class OnnxMergeKernel implements MergeKernel {

    private static final Logger LOG = Logger.getLogger(OnnxMergeKernel.class.getName());

    /**
     * {@code -Dmergeline.ort.profile=PREFIX} turns on ONNX Runtime's own profiler: each session
     * writes a Chrome-trace JSON file {@code PREFIX_<date>.json} when the kernel closes, with the time
     * of every node, including the host↔device copies ({@code Memcpy*}) the CUDA provider inserts.
     * {@code merge-engine/bench/gpu.sh} reads them to split GPU time into transfers and compute.
     */
    static final String PROFILE_PROPERTY = "mergeline.ort.profile";

    /** ONNX Runtime's session option that forbids placing nodes on the CPU behind another provider's back. */
    static final String DISABLE_CPU_FALLBACK = "session.disable_cpu_ep_fallback";

    /** Numbers the profile files of every session in this process (ONNX Runtime's names have 1 s resolution). */
    private static final AtomicInteger PROFILED_SESSIONS = new AtomicInteger();

    /** Makes the options of one session (each session owns its options, so each can profile to its own file). */
    @FunctionalInterface
    interface SessionSettings {
        OrtSession.SessionOptions create(String profilePrefix) throws OrtException;
    }

    /**
     * A provider to try: its name as reported, and how to build a kernel on it.
     *
     * @param <K> the kernel type
     */
    record Candidate<K extends MergeKernel>(String provider, KernelFactory<K> factory) {}

    /** Builds a kernel; may fail with any exception or a linkage error (missing native libraries). */
    @FunctionalInterface
    interface KernelFactory<K extends MergeKernel> {
        K create() throws Exception;
    }

    /**
     * Largest rank whose scale is fixed into the graph ({@code FusedMatMul}): ONNX Runtime's CPU GEMM
     * sums at most this many products per pass, so each output is one finished dot product scaled
     * once. Beyond it a pass would scale a partial sum, which a separate {@code Mul} does not.
     */
    static final int MAX_FUSED_RANK = 128;
    /** At most this many fixed-scale sessions (distinct scales of one merge); later scales are inputs. */
    static final int FUSED_SESSIONS = 32;

    private final OrtEnvironment env;
    private final SessionSettings settings;
    private final String provider;
    /** How many fixed-scale sessions this kernel may create (0 on CUDA). */
    private final int fusedSessionLimit;
    private final AtomicInteger fusedSessions = new AtomicInteger();
    private final Map<Object, OrtSession> sessions = new ConcurrentHashMap<>();
    private final List<OrtSession.SessionOptions> sessionOptions = new ArrayList<>();
    private final ScratchBuffers scratch = new ScratchBuffers();
    private volatile boolean closed;

    private OnnxMergeKernel(OrtEnvironment env, SessionSettings settings, String provider, int fusedSessionLimit) {
        this.env = env;
        this.settings = settings;
        this.provider = provider;
        this.fusedSessionLimit = fusedSessionLimit;
    }

    /**
     * Creates a kernel; with {@code preferCuda} it tries the CUDA execution provider first and
     * falls back to the CPU (logging why) when CUDA is not usable here.
     *
     * @throws IllegalStateException if ONNX Runtime cannot be initialized at all
     */
    public static OnnxMergeKernel create(boolean preferCuda) {
        return create(preferCuda, defaultThreads());
    }

    /**
     * Intra-op threads that leave one core to the merge's own busy thread (the write stage's SHA-256,
     * see {@code CheckpointWriter}): cores − 1, at least 1. More would make the two contend for the
     * same cores (docs/performance.md).
     */
    public static int defaultThreads() {
        return Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
    }

    /**
     * As {@link #create(boolean)}, with {@code intraOpThreads} threads per ONNX Runtime call
     * (the calling thread included).
     *
     * @throws IllegalArgumentException if {@code intraOpThreads} is below 1
     */
    public static OnnxMergeKernel create(boolean preferCuda, int intraOpThreads) {
        return create(preferCuda, intraOpThreads, FUSED_SESSIONS);
    }

    /**
     * As {@link #create(boolean, int)}, with at most {@code fusedSessions} fixed-scale sessions on the
     * CPU (0: the scale is always an input; for tests that compare both graphs). CUDA always takes
     * the scale as an input: its GEMM may split the sum, and it is not CPU-bound.
     */
    static OnnxMergeKernel create(boolean preferCuda, int intraOpThreads, int fusedSessions) {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, got " + intraOpThreads);
        }
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("ONNX kernel needs a little-endian platform");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<Candidate<OnnxMergeKernel>> candidates = new ArrayList<>();
        if (preferCuda && OrtEnvironment.getAvailableProviders().contains(ai.onnxruntime.OrtProvider.CUDA)) {
            candidates.add(new Candidate<>("CUDA", () -> new OnnxMergeKernel(env,
                    prefix -> cudaOptions(prefix, intraOpThreads), "CUDA", 0)));
        } else if (preferCuda) {
            // The CPU build (the default jar) has no CUDA provider at all: nothing to try, nothing to warn about.
            LOG.fine("this ONNX Runtime build has no CUDA execution provider; using CPU");
        }
        candidates.add(new Candidate<>("CPU", () -> new OnnxMergeKernel(env,
                prefix -> baseOptions(prefix, intraOpThreads), "CPU", fusedSessions)));
        return select(candidates, KernelProbe.standard(), LOG::warning);
    }

    /**
     * Returns the first candidate whose kernel builds and passes {@code probe}; each one that does not
     * is closed and its reason reported to {@code log} (one line). The last candidate must pass.
     *
     * @throws IllegalStateException if the last candidate fails too
     */
    static <K extends MergeKernel> K select(List<Candidate<K>> candidates, KernelProbe probe, Consumer<String> log) {
        for (int i = 0; i < candidates.size(); i++) {
            Candidate<K> candidate = candidates.get(i);
            boolean last = i == candidates.size() - 1;
            K kernel = null;
            Optional<String> problem;
            try {
                kernel = candidate.factory().create();
                problem = probe.check(kernel);
            } catch (Exception | LinkageError e) {
                problem = Optional.of(oneLine(e));
            }
            if (problem.isEmpty()) {
                return kernel;
            }
            closeQuietly(kernel);
            String reason = candidate.provider() + " execution provider failed its start-up probe: " + oneLine(problem.get());
            if (last) {
                throw new IllegalStateException(reason);
            }
            log.accept(reason + "; using " + candidates.get(i + 1).provider());
        }
        throw new IllegalArgumentException("no candidate kernel");
    }

    private static OrtSession.SessionOptions cudaOptions(String profilePrefix, int threads) throws OrtException {
        OrtSession.SessionOptions options = baseOptions(profilePrefix, threads);
        try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(0)) {
            cuda.add("use_tf32", "0");
            options.addCUDA(cuda);
            options.addConfigEntry(DISABLE_CPU_FALLBACK, "1");
            return options;
        } catch (OrtException | RuntimeException | LinkageError e) {
            options.close();
            throw e;
        }
    }

    private static OrtSession.SessionOptions baseOptions(String profilePrefix, int threads) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            options.setIntraOpNumThreads(threads);
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            options.setCPUArenaAllocator(true);
            if (profilePrefix != null) {
                options.enableProfiling(profilePrefix);
            }
            return options;
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }

    /**
     * The profile file prefix of the next session, {@code PREFIX-<pid>-<n>}, or null when profiling
     * is off: unique per session, as ONNX Runtime only appends a timestamp of one-second resolution.
     */
    static String nextProfilePrefix() {
        String prefix = System.getProperty(PROFILE_PROPERTY, "");
        if (prefix.isEmpty()) {
            return null;
        }
        return prefix + "-" + ProcessHandle.current().pid() + "-" + PROFILED_SESSIONS.incrementAndGet();
    }

    private static void closeQuietly(MergeKernel kernel) {
        if (kernel == null) {
            return;
        }
        try {
            kernel.close();
        } catch (Exception e) {
            LOG.fine("closing a rejected kernel: " + e.getMessage());
        }
    }

    @Override
    public String executionProvider() {
        return provider;
    }

    @Override
    public void lowRank(LowRankBlock block) {
        ensureOpen();
        if (block.elements() == 0) {
            return;
        }
        LowRankBlock.Dora dora = block.dora();
        LowRankKey key = withFixedScale(new LowRankKey(block.baseType(), block.outType(), block.rounding(),
                dora != null, dora != null && dora.perColumn(), null), block);
        OrtSession session = session(key, () -> MergeGraphs.lowRank(key));
        long rows = block.rows();
        long cols = block.cols();
        long rank = block.rank();
        try (TensorScope scope = new TensorScope(env, scratch)) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            inputs.put(MergeGraphs.BASE, scope.input(block.base(), new long[] {rows, cols}, javaType(block.baseType())));
            inputs.put(MergeGraphs.LEFT, scope.input(block.left(), new long[] {rows, rank}, OnnxJavaType.FLOAT));
            inputs.put(MergeGraphs.RIGHT, scope.input(block.right(), new long[] {rank, cols}, OnnxJavaType.FLOAT));
            if (key.fusedScale() == null) {
                inputs.put(MergeGraphs.SCALE, scope.scalar(block.scale()));
            }
            if (dora != null) {
                long[] shape = dora.perColumn() ? new long[] {1, cols} : new long[] {rows, 1};
                inputs.put(MergeGraphs.MAGNITUDE, scope.input(dora.magnitude(), shape, OnnxJavaType.FLOAT));
            }
            scope.runInto(session, inputs, block.out(), new long[] {rows, cols}, javaType(block.outType()));
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a " + rows + "x" + cols + " block: " + e.getMessage(), e);
        }
    }

    /**
     * {@code fed} with the block's scale fixed into the graph where {@link #MAX_FUSED_RANK} and the
     * session limit allow it, else {@code fed} itself.
     */
    private LowRankKey withFixedScale(LowRankKey fed, LowRankBlock block) {
        if (block.rank() > MAX_FUSED_RANK) {
            return fed;
        }
        LowRankKey fixed = fed.withFusedScale(block.scale());
        if (sessions.containsKey(fixed)) {
            return fixed;
        }
        // a new fixed-scale session, while there is room for one
        int n = fusedSessions.get();
        while (n < fusedSessionLimit) {
            if (fusedSessions.compareAndSet(n, n + 1)) {
                return fixed;
            }
            n = fusedSessions.get();
        }
        return fed;
    }

    @Override
    public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
        ensureOpen();
        javaType(from);
        javaType(to);
        BufferSizes.requireBytes("in", in, (long) elements * from.byteSize());
        BufferSizes.requireBytes("out", out, (long) elements * to.byteSize());
        if (elements == 0) {
            return;
        }
        if (from == to) {
            out.duplicate().put(in.duplicate());
            return;
        }
        ConvertKey key = new ConvertKey(from, to);
        OrtSession session = session(key, () -> MergeGraphs.convert(key));
        long[] shape = {elements};
        try (TensorScope scope = new TensorScope(env, scratch)) {
            Map<String, OnnxTensor> inputs = Map.of(MergeGraphs.IN, scope.input(in, shape, javaType(from)));
            scope.runInto(session, inputs, out, shape, javaType(to));
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed converting " + from + " to " + to + ": " + e.getMessage(), e);
        }
    }

    /** Creates (or returns the cached) session for {@code key}; package-private for tests. */
    OrtSession session(Object key, Supplier<byte[]> model) {
        ensureOpen();
        return sessions.computeIfAbsent(key, k -> {
            OrtSession.SessionOptions options = null;
            try {
                options = settings.create(nextProfilePrefix());
                OrtSession session = env.createSession(model.get(), options);
                synchronized (sessionOptions) {
                    sessionOptions.add(options);
                }
                return session;
            } catch (OrtException | RuntimeException e) {
                if (options != null) {
                    options.close();
                }
                throw new IllegalStateException("cannot create ONNX session for " + k + " on " + provider + ": "
                        + e.getMessage(), e);
            }
        });
    }

    /** How many sessions are open: one per graph combination used so far; package-private for tests. */
    int sessionCount() {
        return sessions.size();
    }

    /** Closes every session. Call once all merges on this kernel have returned. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        boolean profiling = !System.getProperty(PROFILE_PROPERTY, "").isEmpty();
        for (OrtSession session : sessions.values()) {
            try {
                if (profiling) {
                    LOG.info("ONNX Runtime profile: " + session.endProfiling());
                }
                session.close();
            } catch (OrtException e) {
                LOG.fine("closing ONNX session: " + e.getMessage());
            }
        }
        sessions.clear();
        synchronized (sessionOptions) {
            sessionOptions.forEach(OrtSession.SessionOptions::close);
            sessionOptions.clear();
        }
        scratch.clear();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("OnnxMergeKernel is closed");
        }
    }

    private static OnnxJavaType javaType(DType type) {
        return switch (type) {
            case F32 -> OnnxJavaType.FLOAT;
            case F16 -> OnnxJavaType.FLOAT16;
            case BF16 -> OnnxJavaType.BFLOAT16;
            default -> throw new IllegalArgumentException("not an F32/F16/BF16 type: " + type);
        };
    }


    private static String oneLine(Throwable e) {
        return oneLine(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }

    private static String oneLine(String message) {
        return message.replaceAll("\\s+", " ").trim();
    }
}
