package dev.mergeline.core;

/** Identity of this engine, recorded in manifests and part of every job id. */
public final class EngineInfo {
    /** Release version of the engine. */
    public static final String VERSION = "0.1.0";
    /**
     * Version of the merge semantics: bumped whenever any output byte for the same inputs could
     * change (rounding, tie handling, naming). Part of the job id, so outputs are never reused
     * across semantic changes.
     */
    public static final String MERGE_SEMANTICS = "peft-0.21/lora-1";

    private EngineInfo() {}
}
