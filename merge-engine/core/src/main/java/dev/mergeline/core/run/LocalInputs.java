package dev.mergeline.core.run;

import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.Checkpoint;
import dev.mergeline.safetensors.SafetensorsException;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.TensorInfo;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A base checkpoint directory and an adapter directory, opened for a merge. Opening reads the two
 * configs and every safetensors header, under {@link InputLimits}; file-level problems become reasons.
 */
public final class LocalInputs implements Closeable {
    public static final String ADAPTER_CONFIG = "adapter_config.json";
    public static final String ADAPTER_WEIGHTS = "adapter_model.safetensors";
    public static final String ADAPTER_PICKLE = "adapter_model.bin";
    public static final String BASE_CONFIG = "config.json";
    /** Largest config.json accepted; real ones are kilobytes. */
    private static final long MAX_CONFIG_BYTES = 1 << 20;

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
     * Opens both directories; the adapter weights' size is checked before their header is read,
     * header lengths and the adapter's tensor count while the headers are read.
     */
    public static LocalInputs open(Path baseDir, Path adapterDir, InputLimits limits)
            throws IOException, RejectedException {
        List<Reason> reasons = new ArrayList<>();
        byte[] adapterConfig = readSmall(adapterDir.resolve(ADAPTER_CONFIG), reasons, ReasonCode.ADAPTER_FILES_MISSING,
                "the adapter directory " + adapterDir + " has no " + ADAPTER_CONFIG);
        SafetensorsFile adapter = null;
        Path weights = adapterDir.resolve(ADAPTER_WEIGHTS);
        if (Files.isRegularFile(weights)) {
            Optional<Reason> tooLarge = limits.checkAdapterBytes(ADAPTER_WEIGHTS, Files.size(weights));
            if (tooLarge.isPresent()) {
                reasons.add(tooLarge.get());
            } else {
                adapter = openSafetensors(weights, limits, reasons);
            }
        } else if (Files.exists(adapterDir.resolve(ADAPTER_PICKLE))) {
            reasons.add(Reason.about(ReasonCode.PICKLE_WEIGHTS_REFUSED, ADAPTER_PICKLE, "the adapter ships only "
                    + ADAPTER_PICKLE + " (pickle, which can run code when loaded); save it with safe_serialization=True"));
        } else {
            reasons.add(Reason.about(ReasonCode.ADAPTER_FILES_MISSING, ADAPTER_WEIGHTS,
                    "the adapter directory " + adapterDir + " has no " + ADAPTER_WEIGHTS));
        }
        byte[] baseConfig = readSmall(baseDir.resolve(BASE_CONFIG), reasons, ReasonCode.BASE_MODEL_UNKNOWN,
                "the base directory " + baseDir + " has no " + BASE_CONFIG);
        Checkpoint base = null;
        try {
            base = Checkpoint.open(baseDir, limits.baseHeader());
        } catch (SafetensorsException e) {
            reasons.add(limits.headerReason(e, baseDir.toString()));
        } catch (NoSuchFileException e) {
            boolean pickle = Files.exists(baseDir.resolve("pytorch_model.bin"));
            reasons.add(Reason.about(pickle ? ReasonCode.PICKLE_WEIGHTS_REFUSED : ReasonCode.BASE_MODEL_UNKNOWN,
                    baseDir.toString(), pickle ? "the base ships only pytorch_model.bin (pickle); convert it to safetensors"
                            : "the base directory " + baseDir + " has no safetensors weights"));
        }
        if (!reasons.isEmpty()) {
            closeQuietly(adapter);
            closeQuietly(base);
            throw new RejectedException(reasons);
        }
        List<TensorInfo> baseTensors = new ArrayList<>();
        for (String name : base.tensorNames()) {
            baseTensors.add(base.tensor(name).orElseThrow());
        }
        return new LocalInputs(base, adapter, new MergeInputs(adapterConfig, adapter.header(), baseConfig, baseTensors));
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

    private static SafetensorsFile openSafetensors(Path file, InputLimits limits, List<Reason> reasons)
            throws IOException {
        try {
            return SafetensorsFile.open(file, limits.adapterHeader());
        } catch (SafetensorsException e) {
            reasons.add(limits.headerReason(e, file.getFileName().toString()));
            return null;
        }
    }

    private static byte[] readSmall(Path file, List<Reason> reasons, ReasonCode missing, String message)
            throws IOException {
        if (!Files.isRegularFile(file)) {
            reasons.add(Reason.about(missing, file.getFileName().toString(), message));
            return null;
        }
        long size = Files.size(file);
        if (size > MAX_CONFIG_BYTES) {
            reasons.add(Reason.mismatch(missing == ReasonCode.BASE_MODEL_UNKNOWN ? ReasonCode.BASE_MODEL_UNKNOWN
                    : ReasonCode.ADAPTER_CONFIG_INVALID, file.getFileName().toString(),
                    file.getFileName() + " is too large", "<= " + MAX_CONFIG_BYTES + " bytes", size));
            return null;
        }
        return Files.readAllBytes(file);
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
