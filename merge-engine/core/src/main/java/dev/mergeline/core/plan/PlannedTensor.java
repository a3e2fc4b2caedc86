package dev.mergeline.core.plan;

import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorSpec;
import java.util.List;

/**
 * One tensor of the merged checkpoint.
 *
 * @param name output tensor name
 * @param dtype output dtype
 * @param shape output shape
 * @param op how it is produced
 */
public record PlannedTensor(String name, DType dtype, List<Long> shape, TensorOp op) {
    public PlannedTensor {
        shape = List.copyOf(shape);
    }

    public TensorSpec spec() {
        return new TensorSpec(name, dtype, shape);
    }
}
