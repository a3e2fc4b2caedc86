package dev.mergeline.events;

/** The files of an adapter directory that Mergeline cares about. */
public enum AdapterFile {
    /** {@code adapter_config.json} (required). */
    ADAPTER_CONFIG("adapter_config.json"),
    /** {@code adapter_model.safetensors} (required). */
    ADAPTER_WEIGHTS("adapter_model.safetensors"),
    /** {@code adapter_model.bin}: pickle weights, refused with {@code PICKLE_WEIGHTS_REFUSED}. */
    PICKLE_WEIGHTS("adapter_model.bin"),
    /** {@code merge.json}: optional overrides (base, output dtype, formats). */
    MERGE_OVERRIDES("merge.json"),
    /** Anything else (tokenizer files, README.md, ...). */
    OTHER(null);

    private final String fileName;

    AdapterFile(String fileName) {
        this.fileName = fileName;
    }

    /** The exact file name; null for {@link #OTHER}. */
    public String fileName() {
        return fileName;
    }

    /**
     * Whether an upload of this file should (re)trigger validation: the two required files, the
     * pickle file (so that a pickle-only upload is rejected instead of silently ignored) and
     * {@code merge.json} (it changes the job). Uploads of other files do not.
     */
    public boolean triggersValidation() {
        return this != OTHER;
    }

    /** Classifies a file name (exact, case-sensitive match). */
    public static AdapterFile of(String fileName) {
        for (AdapterFile f : values()) {
            if (f.fileName != null && f.fileName.equals(fileName)) {
                return f;
            }
        }
        return OTHER;
    }
}
