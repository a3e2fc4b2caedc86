package dev.mergeline.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Summarises the Chrome-trace files ONNX Runtime's profiler writes ({@code -Dmergeline.ort.profile=PREFIX},
 * one file per session; see {@code merge-engine/bench/gpu.sh}): where the time of the {@code Run}
 * calls went, and which execution providers ran the graph nodes.
 *
 * <p>Per run, ONNX Runtime records {@code model_run} (the whole {@code Run} call) and, inside it,
 * {@code SequentialExecutor::Execute} (the graph's nodes). The labels say what the numbers measure
 * on any provider: "graph execution" is the time inside {@code Execute}; with an asynchronous
 * provider such as CUDA, node events time kernel launches, and the wait for the device lands
 * wherever the host next synchronises — usually the copy of the outputs back. So "graph execution"
 * is not device compute time, and "copies and waits outside graph execution" (the rest of each
 * {@code Run}, plus any {@code Memcpy*} nodes) includes the device's queue draining. Each node event
 * names its provider: a trace whose nodes ran on more than one provider is reported as mixed.
 *
 * <pre>java -cp mergeline-bench.jar dev.mergeline.bench.OrtProfileSummary TRACE.json...</pre>
 */
public final class OrtProfileSummary {

    /** Microseconds by category, summed over every trace given, and node counts by execution provider. */
    record Totals(long runMicros, long executeMicros, long memcpyNodeMicros, Map<String, Long> nodeMicrosByOp,
            Map<String, Long> nodesByProvider) {

        /** The rest of each {@code Run} call outside graph execution, plus {@code Memcpy*} nodes. */
        long copiesAndWaitsMicros() {
            return runMicros - executeMicros + memcpyNodeMicros;
        }

        /** Graph execution less {@code Memcpy*} nodes (with an asynchronous provider: launches, not device time). */
        long graphExecutionMicros() {
            return runMicros - copiesAndWaitsMicros();
        }

        /** Whether the nodes ran on more than one execution provider. */
        boolean mixedPlacement() {
            return nodesByProvider.size() > 1;
        }

        String describe() {
            double run = Math.max(1, runMicros);
            String placement = nodesByProvider.isEmpty() ? "no node events"
                    : (mixedPlacement() ? "MIXED placement, nodes by provider: " : "all nodes on ") + (mixedPlacement()
                            ? nodesByProvider.toString() : nodesByProvider.keySet().iterator().next());
            return String.format(Locale.ROOT,
                    "ONNX Runtime Run calls %.2f s: copies and waits outside graph execution %.2f s (%.0f %%),"
                            + " graph execution incl. launches %.2f s (%.0f %%); %s; nodes by op (s): %s",
                    runMicros / 1e6, copiesAndWaitsMicros() / 1e6, 100 * copiesAndWaitsMicros() / run,
                    graphExecutionMicros() / 1e6, 100 * graphExecutionMicros() / run, placement, seconds(nodeMicrosByOp));
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
        Map<String, Long> byProvider = new TreeMap<>();
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
                            JsonNode args = event.path("args");
                            String op = args.path("op_name").asText("?");
                            byOp.merge(op, dur, Long::sum);
                            byProvider.merge(args.path("provider").asText("unknown provider"), 1L, Long::sum);
                            if (op.startsWith("Memcpy")) {
                                memcpy += dur;
                            }
                        }
                    }
                    default -> { }
                }
            }
        }
        return new Totals(run, execute, memcpy, byOp, byProvider);
    }
}
