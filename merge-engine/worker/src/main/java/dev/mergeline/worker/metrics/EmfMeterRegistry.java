package dev.mergeline.worker.metrics;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.step.StepMeterRegistry;
import io.micrometer.core.instrument.step.StepRegistryConfig;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Publishes the worker's own meters ({@code mergeline.*}) once per step as CloudWatch Embedded Metric
 * Format lines: one JSON object per meter and step, which CloudWatch Logs turns into metrics in
 * {@link #namespace} when the line reaches a log group (the task's {@code awslogs} driver). No AWS
 * SDK call and no network endpoint are involved.
 *
 * <p>Each meter's tags become dimensions, plus {@code Service}. Counters publish the step's count;
 * timers publish {@code .count}, {@code .sum} and {@code .max} in milliseconds; distribution
 * summaries the same without a unit; gauges their value. Meters with nothing to report in a step
 * (a timer or summary with no recordings) are left out.
 */
public final class EmfMeterRegistry extends StepMeterRegistry {
    /** Meters outside this name prefix (JVM, HTTP, Kafka client) stay on {@code /q/metrics} only. */
    static final String PREFIX = "mergeline.";
    private static final JsonFactory JSON = new JsonFactory();

    private final String namespace;
    private final String service;
    private final Consumer<String> sink;

    /**
     * @param step how often to publish (CloudWatch's standard resolution is one minute)
     * @param namespace CloudWatch namespace of every metric
     * @param service value of the {@code Service} dimension
     * @param sink receives one EMF line per meter and step
     */
    public EmfMeterRegistry(Duration step, String namespace, String service, Clock clock, Consumer<String> sink) {
        super(config(step), clock);
        this.namespace = namespace;
        this.service = service;
        this.sink = sink;
    }

    @Override
    protected void publish() {
        long timestamp = clock.wallTime();
        for (Meter meter : getMeters()) {
            if (meter.getId().getName().startsWith(PREFIX)) {
                String line = line(meter, timestamp);
                if (line != null) {
                    sink.accept(line);
                }
            }
        }
    }

    /** The EMF line for one meter at {@code timestamp} (epoch ms), or null when it has no value this step. */
    String line(Meter meter, long timestamp) {
        Map<String, Double> values = new LinkedHashMap<>();
        String unit = "None";
        String name = meter.getId().getName();
        if (meter instanceof Counter c) {
            values.put(name, c.count());
            unit = "Count";
        } else if (meter instanceof FunctionCounter c) {
            values.put(name, c.count());
            unit = "Count";
        } else if (meter instanceof Timer t) {
            if (t.count() == 0) {
                return null;
            }
            values.put(name + ".count", (double) t.count());
            values.put(name + ".sum", t.totalTime(TimeUnit.MILLISECONDS));
            values.put(name + ".max", t.max(TimeUnit.MILLISECONDS));
            unit = "Milliseconds";
        } else if (meter instanceof DistributionSummary s) {
            if (s.count() == 0) {
                return null;
            }
            values.put(name + ".count", (double) s.count());
            values.put(name + ".sum", s.totalAmount());
            values.put(name + ".max", s.max());
        } else if (meter instanceof Gauge g) {
            values.put(name, g.value());
        } else {
            return null;
        }
        values.values().removeIf(v -> !Double.isFinite(v));
        if (values.isEmpty()) {
            return null;
        }
        Map<String, String> dimensions = new LinkedHashMap<>();
        dimensions.put("Service", service);
        for (Tag tag : meter.getId().getTags()) {
            dimensions.put(tag.getKey(), tag.getValue());
        }
        return write(timestamp, dimensions, values, unit);
    }

    private String write(long timestamp, Map<String, String> dimensions, Map<String, Double> values, String unit) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeObjectFieldStart("_aws");
            g.writeNumberField("Timestamp", timestamp);
            g.writeArrayFieldStart("CloudWatchMetrics");
            g.writeStartObject();
            g.writeStringField("Namespace", namespace);
            g.writeArrayFieldStart("Dimensions");
            g.writeStartArray();
            for (String key : dimensions.keySet()) {
                g.writeString(key);
            }
            g.writeEndArray();
            g.writeEndArray();
            g.writeArrayFieldStart("Metrics");
            for (String metric : values.keySet()) {
                g.writeStartObject();
                g.writeStringField("Name", metric);
                g.writeStringField("Unit", metric.endsWith(".count") ? "Count" : unit);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
            for (Map.Entry<String, String> d : dimensions.entrySet()) {
                g.writeStringField(d.getKey(), d.getValue());
            }
            for (Map.Entry<String, Double> v : values.entrySet()) {
                g.writeNumberField(v.getKey(), v.getValue());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    @Override
    protected TimeUnit getBaseTimeUnit() {
        return TimeUnit.MILLISECONDS;
    }

    private static StepRegistryConfig config(Duration step) {
        return new StepRegistryConfig() {
            @Override
            public String prefix() {
                return "mergeline.emf";
            }

            @Override
            public String get(String key) {
                return null;
            }

            @Override
            public Duration step() {
                return step;
            }
        };
    }
}
