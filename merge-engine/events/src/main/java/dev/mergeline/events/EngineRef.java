package dev.mergeline.events;

/**
 * The engine that merged.
 *
 * @param version engine release
 * @param mergeSemantics version of the merge arithmetic and naming rules (part of the job id)
 * @param executionProvider where the arithmetic ran: {@code CUDA}, {@code CPU} or {@code java}
 */
public record EngineRef(String version, String mergeSemantics, String executionProvider) {
    public EngineRef {
        Check.text(version, "version");
        Check.text(mergeSemantics, "mergeSemantics");
        Check.text(executionProvider, "executionProvider");
    }
}
