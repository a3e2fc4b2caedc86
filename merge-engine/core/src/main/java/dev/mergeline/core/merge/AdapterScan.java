package dev.mergeline.core.merge;

import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads every adapter weight once before anything is written, so that NaN or infinity anywhere in
 * the adapter rejects the merge with nothing written (PEFT would merge them silently).
 */
public final class AdapterScan {
    private static final int CHUNK_ELEMENTS = 1 << 22;

    private AdapterScan() {}

    public static void requireFinite(SafetensorsFile adapter, MergeKernel kernel) throws IOException, RejectedException {
        Fp32Loader loader = new Fp32Loader(kernel);
        ByteBuffer scratch = ByteBuffer.allocateDirect(CHUNK_ELEMENTS * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (TensorInfo t : adapter.header().tensors()) {
            if (!t.dtype().isMergeable()) {
                continue;
            }
            TensorStore.Located located = new TensorStore.Located(adapter, t);
            for (long first = 0; first < t.elementCount(); first += CHUNK_ELEMENTS) {
                int n = (int) Math.min(CHUNK_ELEMENTS, t.elementCount() - first);
                scratch.clear().limit(n * 4);
                loader.convertInto(located, scratch, first, n);
                Fp32Loader.requireFinite(t.name(), scratch, first);
            }
        }
    }
}
