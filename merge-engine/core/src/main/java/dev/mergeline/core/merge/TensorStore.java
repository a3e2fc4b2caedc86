package dev.mergeline.core.merge;

import dev.mergeline.core.plan.TensorSource;
import dev.mergeline.safetensors.Checkpoint;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.TensorInfo;

/**
 * The two inputs of a merge, opened: the base checkpoint and the adapter file. Resolves a
 * {@link TensorSource} to its file and header entry.
 */
public record TensorStore(Checkpoint base, SafetensorsFile adapter) {

    /** A tensor located in an open file. */
    public record Located(SafetensorsFile file, TensorInfo info) {
        /** Absolute byte position of the tensor's data in its file. */
        public long position() {
            return file.header().dataStart() + info.dataOffset();
        }
    }

    public Located locate(TensorSource source) {
        return switch (source.origin()) {
            case BASE -> new Located(base.fileOf(source.name()), base.tensor(source.name()).orElseThrow());
            case ADAPTER -> new Located(adapter, adapter.header().tensor(source.name()).orElseThrow());
        };
    }

    public Located adapterTensor(String name) {
        return locate(TensorSource.adapter(name));
    }
}
