package dev.mergeline.core.merge;

import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;

/**
 * The arithmetic of a merge, one block of rows at a time. Planning, I/O and PEFT semantics live
 * elsewhere; a kernel only turns input buffers into output buffers.
 *
 * <p>Implementations: {@code dev.mergeline.onnx.OnnxMergeKernel} (ONNX Runtime, CUDA or CPU) and
 * {@link ReferenceMergeKernel} (plain Java, the executable specification used by tests).
 *
 * <p>All buffers are little-endian and hold exactly the elements described between their
 * position and limit; kernels never change the caller's positions or limits.
 */
public interface MergeKernel extends AutoCloseable {

    /** Human-readable execution provider, recorded in the manifest ("CPU", "CUDA", "java"). */
    String executionProvider();

    /** Computes {@code block.out()} from the block's inputs; see {@link LowRankBlock} for the exact rounding. */
    void lowRank(LowRankBlock block);

    /**
     * Converts {@code elements} values between F32, F16 and BF16 (other types:
     * {@link IllegalArgumentException}) with
     * round-to-nearest-even (NaN stays NaN, overflow becomes infinity), as torch's {@code .to(dtype)}.
     */
    void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements);

    @Override
    void close();
}
