package dev.mergeline.safetensors;

import java.util.List;

/** Checked arithmetic on tensor shapes. */
final class Shapes {

    private Shapes() {
    }

    /** Product of the dimensions, 1 for a scalar, 0 if any is 0; ArithmeticException on overflow. */
    static long elementCount(List<Long> shape) {
        if (shape.contains(0L)) {
            return 0;
        }
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bytes for the shape in the dtype; ArithmeticException on overflow. */
    static long byteLength(DType dtype, List<Long> shape) {
        return Math.multiplyExact(elementCount(shape), (long) dtype.byteSize());
    }
}
