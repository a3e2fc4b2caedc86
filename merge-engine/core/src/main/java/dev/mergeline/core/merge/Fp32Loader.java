package dev.mergeline.core.merge;

import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Reads adapter tensors (small: LoRA factors, magnitudes, biases) into fp32 direct buffers, as
 * PEFT upcasts bf16/fp16 adapter weights to fp32, and refuses non-finite values.
 */
final class Fp32Loader {
    /** Elements converted per kernel call, bounding the mapped window. */
    private static final int CHUNK_ELEMENTS = 1 << 22;

    private final MergeKernel kernel;

    Fp32Loader(MergeKernel kernel) {
        this.kernel = kernel;
    }

    /**
     * The whole tensor as fp32, little-endian, position 0, in a direct buffer of its own (the caller
     * may free it with {@link BufferPool#free} once done).
     */
    ByteBuffer load(TensorStore.Located t) throws IOException, RejectedException {
        long elements = t.info().elementCount();
        if (elements > Integer.MAX_VALUE / 4) {
            throw new IOException("adapter tensor " + t.info().name() + " has " + elements
                    + " elements, more than the limit of " + Integer.MAX_VALUE / 4 + " for a LoRA factor");
        }
        ByteBuffer out = ByteBuffer.allocateDirect((int) elements * 4).order(ByteOrder.LITTLE_ENDIAN);
        convertInto(t, out, 0, (int) elements);
        requireFinite(t.info().name(), out, 0);
        return out;
    }

    /** Converts {@code count} elements starting at element {@code first} into {@code out} (position 0). */
    void convertInto(TensorStore.Located t, ByteBuffer out, long first, int count) throws IOException {
        DType dtype = t.info().dtype();
        int size = dtype.byteSize();
        for (int done = 0; done < count; ) {
            int n = Math.min(CHUNK_ELEMENTS, count - done);
            ByteBuffer src = t.file().slice(t.info(), Math.multiplyExact(first + done, (long) size),
                    Math.multiplyExact(n, size));
            try {
                ByteBuffer dst = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                dst.position(done * 4).limit((done + n) * 4);
                if (dtype == DType.F32) {
                    dst.put(src);
                } else {
                    kernel.convert(src, dtype, dst.slice().order(ByteOrder.LITTLE_ENDIAN), DType.F32, n);
                }
            } finally {
                BufferPool.free(src); // unmapped now, not when the collector gets to it
            }
            done += n;
        }
    }

    /** NON_FINITE_WEIGHTS with the first offending index. */
    static void requireFinite(String tensor, ByteBuffer fp32, long firstIndex) throws RejectedException {
        FloatBuffer f = fp32.duplicate().order(ByteOrder.LITTLE_ENDIAN).rewind().asFloatBuffer();
        for (int i = 0; i < f.limit(); i++) {
            float v = f.get(i);
            if (!Float.isFinite(v)) {
                throw new RejectedException(Reason.mismatch(ReasonCode.NON_FINITE_WEIGHTS, tensor,
                        "adapter tensor " + tensor + " holds " + v + " at element " + (firstIndex + i), "finite values", v));
            }
        }
    }
}
