package dev.mergeline.functions;

import dev.mergeline.events.AdapterLocation;
import java.util.ArrayList;
import java.util.List;

/**
 * The result a trigger returns: adapter prefixes by outcome. A Funqy output bean (public fields,
 * default constructor).
 */
public class IntakeSummary {
    public List<String> requested = new ArrayList<>();
    public List<String> rejected = new ArrayList<>();
    public List<String> incomplete = new ArrayList<>();
    public List<String> ignored = new ArrayList<>();
    public int malformed;

    void add(AdapterLocation adapter, AdapterIntakeService.Outcome outcome) {
        String prefix = "s3://" + adapter.bucket() + "/" + adapter.prefix();
        switch (outcome) {
            case REQUESTED -> requested.add(prefix);
            case REJECTED -> rejected.add(prefix);
            case INCOMPLETE -> incomplete.add(prefix);
        }
    }

    void addAll(IntakeSummary other) {
        requested.addAll(other.requested);
        rejected.addAll(other.rejected);
        incomplete.addAll(other.incomplete);
        ignored.addAll(other.ignored);
        malformed += other.malformed;
    }
}
