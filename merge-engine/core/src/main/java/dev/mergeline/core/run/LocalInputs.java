package dev.mergeline.core.run;

import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.Checkpoint;
import dev.mergeline.safetensors.SafetensorsException;
import dev.mergeline.safetensors.SafetensorsFile;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A base checkpoint directory and an adapter directory, opened for a merge: {@link InputRules} over
 * two {@link LocalDirectory} sources decide whether they can be used, then the weight files are
 * opened for reading.
 */
public final class LocalInputs implements Closeable {
    private final Checkpoint base;
    private final SafetensorsFile adapter;
    private final MergeInputs inputs;

    private LocalInputs(Checkpoint base, SafetensorsFile adapter, MergeInputs inputs) {
        this.base = base;
        this.adapter = adapter;
        this.inputs = inputs;
    }

    /** Opens both directories under {@link InputLimits#defaults()}. */
    public static LocalInputs open(Path baseDir, Path adapterDir) throws IOException, RejectedException {
        return open(baseDir, adapterDir, InputLimits.defaults());
    }

    /**
     * Opens both directories, after {@link InputRules} accepted them.
     *
     * @throws RejectedException every problem of both directories; also when a file changes between
     *     the rules' reads and its opening (reported like the rules report that file)
     */
    public static LocalInputs open(Path baseDir, Path adapterDir, InputLimits limits)
            throws IOException, RejectedException {
        MergeInputs inputs = new InputRules(limits).read(new LocalDirectory(adapterDir), new LocalDirectory(baseDir));
        SafetensorsFile adapter = null;
        try {
            adapter = SafetensorsFile.open(adapterDir.resolve(InputRules.ADAPTER_WEIGHTS), limits.adapterHeader());
            Checkpoint base = Checkpoint.open(baseDir, limits.baseHeader());
            return new LocalInputs(base, adapter, inputs);
        } catch (SafetensorsException e) {
            closeQuietly(adapter);
            throw new RejectedException(limits.headerReason(e, e.tensor().orElse(baseDir.toString())));
        } catch (IOException | RuntimeException e) {
            closeQuietly(adapter);
            throw e;
        }
    }

    public MergeInputs inputs() {
        return inputs;
    }

    public Checkpoint base() {
        return base;
    }

    public SafetensorsFile adapter() {
        return adapter;
    }

    @Override
    public void close() throws IOException {
        try (Checkpoint b = base; SafetensorsFile a = adapter) {
            // closes both
        }
    }

    private static void closeQuietly(Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException ignored) {
                // already failing; the rejection is what matters
            }
        }
    }
}
