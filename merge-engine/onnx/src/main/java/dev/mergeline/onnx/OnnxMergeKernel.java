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
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * {@link MergeKernel} on ONNX Runtime, CUDA or CPU.
 *
 * <p>Each distinct (base type, output type, rounding, DoRA, per-column) combination gets one small
 * graph ({@link MergeGraphs}) and one lazily created, cached {@link OrtSession}; sessions are
 * thread-safe, so concurrent {@link #lowRank} calls are fine. Inputs and outputs are used in place
 * where the runtime allows it (direct buffers, see {@link TensorScope}).
 *
 * <p>Rounding: ORT 1.24's CPU {@code Cast} rounds float→bfloat16 and float→float16 to nearest
 * even, with overflow to infinity, exact subnormals and NaN kept NaN; {@code OnnxMergeKernelTest}
 * checks crafted ties, a million random floats and every 16-bit value bit for bit against
 * {@code FloatBits}. So every rounding happens inside the graph and no Java post-rounding is
 * needed. Only NaN payloads differ (ORT's scalar path returns the canonical ±0x7FC0 / ±0x7E00,
 * its vectorized path keeps payload bits), which no caller may rely on. Default graph
 * optimizations are kept: with the scale a graph input no fusion applies to the MatMul, and the
 * Cast(out)→Cast(float) pairs survive (the bit-exact tests on exactly representable data fail if
 * either changes). Plain LoRA outputs differ from the reference only through the MatMul's
 * summation order and FMA use: at most 2 fp32 ulps in the tests (16-bit outputs: none seen),
 * DoRA at most 3 fp32 ulps.
 *
 * <p>CUDA: {@link #create(boolean) create(true)} asks for the CUDA execution provider on device 0
 * with TF32 disabled (TF32 matmuls would keep only 10 mantissa bits of the delta) and probes it
 * by creating a session; on any failure it logs one line and runs on the CPU.
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

    private final OrtEnvironment env;
    private final OrtSession.SessionOptions options;
    private final String provider;
    private final Map<Object, OrtSession> sessions = new ConcurrentHashMap<>();
    private final ScratchBuffers scratch = new ScratchBuffers();
    private volatile boolean closed;

    private OnnxMergeKernel(OrtEnvironment env, OrtSession.SessionOptions options, String provider) {
        this.env = env;
        this.options = options;
        this.provider = provider;
    }

    /**
     * Creates a kernel; with {@code preferCuda} it tries the CUDA execution provider first and
     * falls back to the CPU (logging why) when CUDA is not usable here.
     *
     * @throws IllegalStateException if ONNX Runtime cannot be initialized at all
     */
    public static OnnxMergeKernel create(boolean preferCuda) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("ONNX kernel needs a little-endian platform");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        if (preferCuda && !OrtEnvironment.getAvailableProviders().contains(ai.onnxruntime.OrtProvider.CUDA)) {
            // The CPU build (the default jar) has no CUDA provider at all: nothing to try, nothing to warn about.
            LOG.fine("this ONNX Runtime build has no CUDA execution provider; using CPU");
            preferCuda = false;
        }
        if (preferCuda) {
            OrtSession.SessionOptions cudaOptions = null;
            try {
                cudaOptions = baseOptions();
                try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(0)) {
                    cuda.add("use_tf32", "0");
                    cudaOptions.addCUDA(cuda);
                }
                // Appending the provider can succeed with no usable device; a session proves it.
                env.createSession(MergeGraphs.convert(new ConvertKey(DType.F32, DType.F16)), cudaOptions).close();
                return new OnnxMergeKernel(env, cudaOptions, "CUDA");
            } catch (OrtException | RuntimeException | LinkageError e) {
                if (cudaOptions != null) {
                    cudaOptions.close();
                }
                LOG.warning("CUDA execution provider unavailable (" + oneLine(e) + "); using CPU");
            }
        }
        try {
            return new OnnxMergeKernel(env, baseOptions(), "CPU");
        } catch (OrtException e) {
            throw new IllegalStateException("cannot configure ONNX Runtime: " + e.getMessage(), e);
        }
    }

    private static OrtSession.SessionOptions baseOptions() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            options.setIntraOpNumThreads(Runtime.getRuntime().availableProcessors());
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            options.setCPUArenaAllocator(true);
            String profile = System.getProperty(PROFILE_PROPERTY, "");
            if (!profile.isEmpty()) {
                options.enableProfiling(profile);
            }
            return options;
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
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
        LowRankKey key = new LowRankKey(block.baseType(), block.outType(), block.rounding(),
                dora != null, dora != null && dora.perColumn());
        OrtSession session = session(key, () -> MergeGraphs.lowRank(key));
        long rows = block.rows();
        long cols = block.cols();
        long rank = block.rank();
        try (TensorScope scope = new TensorScope(env, scratch)) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            inputs.put(MergeGraphs.BASE, scope.input(block.base(), new long[] {rows, cols}, javaType(block.baseType())));
            inputs.put(MergeGraphs.LEFT, scope.input(block.left(), new long[] {rows, rank}, OnnxJavaType.FLOAT));
            inputs.put(MergeGraphs.RIGHT, scope.input(block.right(), new long[] {rank, cols}, OnnxJavaType.FLOAT));
            inputs.put(MergeGraphs.SCALE, scope.scalar(block.scale()));
            if (dora != null) {
                long[] shape = dora.perColumn() ? new long[] {1, cols} : new long[] {rows, 1};
                inputs.put(MergeGraphs.MAGNITUDE, scope.input(dora.magnitude(), shape, OnnxJavaType.FLOAT));
            }
            scope.runInto(session, inputs, block.out(), new long[] {rows, cols}, javaType(block.outType()));
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a " + rows + "x" + cols + " block: " + e.getMessage(), e);
        }
    }

    @Override
    public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
        ensureOpen();
        javaType(from);
        javaType(to);
        requireBytes("in", in, (long) elements * from.byteSize());
        requireBytes("out", out, (long) elements * to.byteSize());
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
            try {
                return env.createSession(model.get(), options);
            } catch (OrtException e) {
                throw new IllegalStateException("cannot create ONNX session for " + k + ": " + e.getMessage(), e);
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
        options.close();
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

    private static void requireBytes(String what, ByteBuffer buffer, long expected) {
        if (buffer.remaining() != expected) {
            throw new IllegalArgumentException(what + " holds " + buffer.remaining() + " bytes, expected " + expected);
        }
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replaceAll("\\s+", " ").trim();
    }
}
