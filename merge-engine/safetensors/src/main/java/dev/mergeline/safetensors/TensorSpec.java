package dev.mergeline.safetensors;

import java.util.List;
import java.util.Objects;

/**
 * A tensor to be written: name, element type and shape.
 *
 * @param name  the tensor's name
 * @param dtype element type
 * @param shape dimensions, outermost first; empty for a scalar
 */
public record TensorSpec(String name, DType dtype, List<Long> shape) {

    /**
     * @throws IllegalArgumentException on a negative dimension or the reserved name "__metadata__"
     * @throws ArithmeticException      if the size in bytes overflows a signed 64-bit integer
     */
    public TensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = List.copyOf(shape);
        if (HeaderParser.METADATA_KEY.equals(name)) {
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved for metadata");
        }
        for (Long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has negative dimension " + d + " in shape " + shape);
            }
        }
        Shapes.byteLength(dtype, shape);
    }

    /** The spec of an existing tensor. */
    public static TensorSpec of(TensorInfo t) {
        return new TensorSpec(t.name(), t.dtype(), t.shape());
    }

    /** Product of the dimensions (1 for a scalar). */
    public long elementCount() {
        return Shapes.elementCount(shape);
    }

    /** Bytes the tensor occupies: element count times element size (checked arithmetic). */
    public long byteLength() {
        return Shapes.byteLength(dtype, shape);
    }
}
