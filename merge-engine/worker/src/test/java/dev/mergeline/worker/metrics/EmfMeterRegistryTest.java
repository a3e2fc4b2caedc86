package dev.mergeline.worker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MockClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EmfMeterRegistryTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final MockClock clock = new MockClock();
    private final List<String> lines = new ArrayList<>();
    private final EmfMeterRegistry registry =
            new EmfMeterRegistry(Duration.ofMinutes(1), "Mergeline/Worker", "merge-worker", clock, lines::add);

    @Test
    void aCounterBecomesOneMetricWithItsTagsAsDimensions() throws Exception {
        registry.counter("mergeline.merges", "outcome", "failed").increment(3);
        clock.add(Duration.ofMinutes(1));
        registry.publish();

        assertEquals(1, lines.size(), lines::toString);
        JsonNode line = JSON.readTree(lines.get(0));
        JsonNode directive = line.get("_aws").get("CloudWatchMetrics").get(0);
        assertEquals("Mergeline/Worker", directive.get("Namespace").asText());
        assertEquals("[[\"Service\",\"outcome\"]]", directive.get("Dimensions").toString());
        assertEquals("[{\"Name\":\"mergeline.merges\",\"Unit\":\"Count\"}]", directive.get("Metrics").toString());
        assertEquals(clock.wallTime(), line.get("_aws").get("Timestamp").asLong());
        assertEquals("merge-worker", line.get("Service").asText());
        assertEquals("failed", line.get("outcome").asText());
        assertEquals(3.0, line.get("mergeline.merges").asDouble());
    }

    @Test
    void aCounterReportsEachStepsCountNotItsTotal() throws Exception {
        var merges = registry.counter("mergeline.merges", "outcome", "merged");
        merges.increment();
        clock.add(Duration.ofMinutes(1));
        registry.publish();
        merges.increment(4);
        clock.add(Duration.ofMinutes(1));
        registry.publish();

        assertEquals(1.0, JSON.readTree(lines.get(0)).get("mergeline.merges").asDouble());
        assertEquals(4.0, JSON.readTree(lines.get(1)).get("mergeline.merges").asDouble());
    }

    @Test
    void aTimerReportsCountSumAndMaxInMilliseconds() throws Exception {
        var timer = registry.timer("mergeline.merge.duration", "outcome", "merged");
        timer.record(250, TimeUnit.MILLISECONDS);
        timer.record(750, TimeUnit.MILLISECONDS);
        clock.add(Duration.ofMinutes(1));
        registry.publish();

        JsonNode line = JSON.readTree(lines.get(0));
        assertEquals(2.0, line.get("mergeline.merge.duration.count").asDouble());
        assertEquals(1000.0, line.get("mergeline.merge.duration.sum").asDouble());
        assertEquals(750.0, line.get("mergeline.merge.duration.max").asDouble());
        assertEquals("[{\"Name\":\"mergeline.merge.duration.count\",\"Unit\":\"Count\"},"
                        + "{\"Name\":\"mergeline.merge.duration.sum\",\"Unit\":\"Milliseconds\"},"
                        + "{\"Name\":\"mergeline.merge.duration.max\",\"Unit\":\"Milliseconds\"}]",
                line.get("_aws").get("CloudWatchMetrics").get(0).get("Metrics").toString());
    }

    @Test
    void otherMetersAndIdleTimersPrintNothing() {
        registry.counter("jvm.gc.pause").increment();
        registry.timer("mergeline.merge.phase", "phase", "download");
        clock.add(Duration.ofMinutes(1));
        registry.publish();

        assertTrue(lines.isEmpty(), lines::toString);
    }
}
