package dev.mergeline.core.serving;

import java.util.List;

/**
 * Whether one serving engine can serve an adapter as it is, without merging it.
 *
 * @param servableUnmerged true when the engine loads the adapter and serves what PEFT would compute
 * @param reasons the engine's rules that decided it, in words; for a servable adapter, the settings
 *     it needs (may be empty)
 */
public record ServingVerdict(boolean servableUnmerged, List<String> reasons) {
    public ServingVerdict {
        reasons = List.copyOf(reasons);
    }
}
