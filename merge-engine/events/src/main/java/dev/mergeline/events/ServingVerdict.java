package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * Whether one serving engine could serve the adapter as it is, without the merge.
 *
 * @param servableUnmerged true when the engine loads the adapter and serves what PEFT computes
 * @param reasons the engine's rules that decided it (settings it needs, when servable)
 */
public record ServingVerdict(@JsonProperty(required = true) boolean servableUnmerged, List<String> reasons) {
    public ServingVerdict {
        reasons = Check.list(reasons == null ? List.of() : reasons, "reasons");
    }
}
