package dev.mergeline.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The tensors of one {@code OrtSession.run}, closed together.
 *
 * <p>Zero copy: ORT Java's {@code OnnxTensor.createTensor(env, ByteBuffer, shape, type)} uses a
 * <em>direct</em> buffer in place (from its position, for {@code remaining()} bytes; byte order
 * and read-only-ness are not checked, the bytes are handed to the runtime as they are). A
 * read-only direct buffer, such as a read-only {@code MappedByteBuffer} slice, is therefore
 * fine as an input: the runtime never writes inputs. ORT itself would copy a heap buffer into a
 * fresh direct buffer on every call; this class copies heap inputs into a pooled direct scratch
 * buffer instead. Outputs are pinned ({@code run(inputs, pinnedOutputs)}), so the runtime writes
 * the result straight into the caller's buffer — only when that buffer is direct and writable;
 * otherwise the result goes to scratch and is copied over. Multi-byte data is passed through as
 * raw bytes, so the platform must be little-endian (checked by {@link OnnxMergeKernel}).
 */
final class TensorScope implements AutoCloseable {

    private final OrtEnvironment env;
    private final ScratchBuffers scratch;
    private final List<OnnxTensor> tensors = new ArrayList<>();
    private final List<ByteBuffer> borrowed = new ArrayList<>();

    TensorScope(OrtEnvironment env, ScratchBuffers scratch) {
        this.env = env;
        this.scratch = scratch;
    }

    /** A tensor over {@code data}'s remaining bytes; the caller's position is untouched. */
    OnnxTensor input(ByteBuffer data, long[] shape, OnnxJavaType type) throws OrtException {
        ByteBuffer view;
        if (data.isDirect()) {
            view = data.slice();
        } else {
            view = borrow(data.remaining());
            view.put(data.duplicate()).flip();
        }
        return track(OnnxTensor.createTensor(env, view, shape, type));
    }

    /** A scalar fp32 tensor. */
    OnnxTensor scalar(float value) throws OrtException {
        ByteBuffer buffer = borrow(Float.BYTES);
        buffer.order(ByteOrder.LITTLE_ENDIAN).putFloat(0, value);
        return track(OnnxTensor.createTensor(env, buffer, new long[0], OnnxJavaType.FLOAT));
    }

    /**
     * Runs {@code session}, writing its single output {@link MergeGraphs#OUT} of {@code shape} and
     * {@code type} into {@code out}'s remaining bytes.
     */
    void runInto(OrtSession session, Map<String, OnnxTensor> inputs, ByteBuffer out, long[] shape, OnnxJavaType type)
            throws OrtException {
        boolean inPlace = out.isDirect() && !out.isReadOnly();
        ByteBuffer target = inPlace ? out.slice() : borrow(out.remaining());
        OnnxTensor pinned = track(OnnxTensor.createTensor(env, target, shape, type));
        try (OrtSession.Result result = session.run(inputs, Map.of(MergeGraphs.OUT, pinned))) {
            // The result holds only the pinned output, which it does not own; nothing to read.
        }
        if (!inPlace) {
            out.duplicate().put(target.duplicate().clear().limit(out.remaining()));
        }
    }

    private ByteBuffer borrow(int bytes) {
        ByteBuffer buffer = scratch.borrow(bytes);
        borrowed.add(buffer);
        return buffer;
    }

    private OnnxTensor track(OnnxTensor tensor) {
        tensors.add(tensor);
        return tensor;
    }

    @Override
    public void close() {
        tensors.forEach(OnnxTensor::close);
        tensors.clear();
        borrowed.forEach(scratch::release);
        borrowed.clear();
    }
}
