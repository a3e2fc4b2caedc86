package dev.mergeline.safetensors;

import java.util.List;
import java.util.Objects;

/**
 * One tensor entry of a safetensors header.
 *
 * @param name       the tensor's name
 * @param dtype      element type
 * @param shape      dimensions, outermost first; empty for a scalar
 * @param dataOffset start of the tensor's bytes, relative to the start of the data section
 * @param byteLength number of bytes the tensor occupies
 */
public record TensorInfo(String name, DType dtype, List<Long> shape, long dataOffset, long byteLength) {

    /**
     * @throws IllegalArgumentException on a negative dimension, offset or length
     * @throws ArithmeticException      if dataOffset + byteLength overflows
     */
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = List.copyOf(shape);
        for (Long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has negative dimension " + d + " in shape " + shape);
            }
        }
        if (dataOffset < 0 || byteLength < 0) {
            throw new IllegalArgumentException("tensor '" + name + "' needs dataOffset >= 0 and byteLength >= 0, got "
                    + dataOffset + " and " + byteLength);
        }
        Math.addExact(dataOffset, byteLength);
    }

    /** Product of the dimensions (1 for a scalar); throws ArithmeticException on overflow. */
    public long elementCount() {
        return Shapes.elementCount(shape);
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.size();
    }

    /** End of the tensor's bytes (exclusive), relative to the start of the data section. */
    public long dataEnd() {
        return dataOffset + byteLength;
    }
}
