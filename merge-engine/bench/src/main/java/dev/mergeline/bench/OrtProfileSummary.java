package dev.mergeline.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Splits the time ONNX Runtime spent in a merge into host↔device transfers and compute, from the
 * Chrome-trace files its profiler writes ({@code -Dmergeline.ort.profile=PREFIX}, one file per
 * session; see {@code merge-engine/bench/gpu.sh}).
 *
 * <p>Per run, ONNX Runtime records {@code model_run} (the whole {@code Run} call) and, inside it,
 * {@code SequentialExecutor::Execute} (the graph's nodes). What lies outside the execution is
 * copying the inputs to the device and the outputs back (plus a little bookkeeping); {@code Memcpy*}
 * nodes, where the provider inserts them, are transfers too. Everything else is compute.
 *
 * <pre>java -cp mergeline-bench.jar dev.mergeline.bench.OrtProfileSummary TRACE.json...</pre>
 */
public final class OrtProfileSummary {

    /** Microseconds by category, summed over every trace given. */
    record Totals(long runMicros, long executeMicros, long memcpyNodeMicros, Map<String, Long> nodeMicrosByOp) {

        long transferMicros() {
            return runMicros - executeMicros + memcpyNodeMicros;
        }

        long computeMicros() {
            return runMicros - transferMicros();
        }

        String describe() {
            double run = Math.max(1, runMicros);
            return String.format(Locale.ROOT,
                    "ONNX Runtime Run calls %.2f s: transfers %.2f s (%.0f %%), compute %.2f s (%.0f %%); nodes by op (s): %s",
                    runMicros / 1e6, transferMicros() / 1e6, 100 * transferMicros() / run, computeMicros() / 1e6,
                    100 * computeMicros() / run, seconds(nodeMicrosByOp));
        }

        private static Map<String, String> seconds(Map<String, Long> micros) {
            Map<String, String> s = new TreeMap<>();
            micros.forEach((op, us) -> s.put(op, String.format(Locale.ROOT, "%.2f", us / 1e6)));
            return s;
        }
    }

    private OrtProfileSummary() {}

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: OrtProfileSummary TRACE.json...");
            System.exit(1);
        }
        Path[] traces = new Path[args.length];
        for (int i = 0; i < args.length; i++) {
            traces[i] = Path.of(args[i]);
        }
        System.out.println(summarize(traces).describe());
    }

    static Totals summarize(Path... traces) throws IOException {
        ObjectMapper json = new ObjectMapper();
        long run = 0;
        long execute = 0;
        long memcpy = 0;
        Map<String, Long> byOp = new TreeMap<>();
        for (Path trace : traces) {
            for (JsonNode event : json.readTree(trace.toFile())) {
                long dur = event.path("dur").asLong(0);
                String name = event.path("name").asText("");
                switch (event.path("cat").asText("")) {
                    case "Session" -> {
                        if (name.equals("model_run")) {
                            run += dur;
                        } else if (name.equals("SequentialExecutor::Execute")) {
                            execute += dur;
                        }
                    }
                    case "Node" -> {
                        if (name.endsWith("_kernel_time")) {
                            String op = event.path("args").path("op_name").asText("?");
                            byOp.merge(op, dur, Long::sum);
                            if (op.startsWith("Memcpy")) {
                                memcpy += dur;
                            }
                        }
                    }
                    default -> { }
                }
            }
        }
        return new Totals(run, execute, memcpy, byOp);
    }
}
