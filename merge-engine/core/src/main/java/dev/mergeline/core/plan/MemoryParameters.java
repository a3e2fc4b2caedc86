package dev.mergeline.core.plan;

import dev.mergeline.core.hf.ConversionRules;
import dev.mergeline.core.hf.WeightTransform;
import dev.mergeline.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The base checkpoint's 2-d and 3-d tensors grouped by the parameter transformers loads them into (in-memory
 * names), each with the on-disk tensors that hold it: a renamed tensor holds its whole parameter; per-expert
 * tensors that a converter stacks ({@code MergeModulelist}) and concatenates ({@code Concatenate}, sources in
 * order) each hold one block of one expert; a fused tensor that a converter transposes ({@code Transpose} of dims
 * 1 and 2) holds every expert, transposed.
 */
final class MemoryParameters {

    /**
     * One on-disk tensor's place in its parameter, in the coordinates of one expert's [d1, d2] matrix.
     *
     * @param expert the expert, or -1 when the tensor holds every expert
     * @param transposed the tensor stores the block transposed
     */
    record Part(String diskName, int expert, int firstRow, int rows, int firstCol, int cols, boolean transposed) {}

    /**
     * A parameter in memory.
     *
     * @param experts E for a 3-d parameter [E, d1, d2], 0 for a 2-d one [d1, d2]
     * @param problem why its on-disk tensors cannot be mapped (an operation or layout the engine does not apply),
     *     or null
     * @param transposedLayout for a fused tensor transformers transposes only when its shape is not the
     *     parameter's ({@code Transpose} with {@code check_dims}): the parameter it loads into when the checkpoint
     *     holds the other layout, or null
     */
    record Parameter(String name, int experts, int d1, int d2, List<Part> parts, String problem,
            Parameter transposedLayout) {
        Parameter(String name, int experts, int d1, int d2, List<Part> parts, String problem) {
            this(name, experts, d1, d2, parts, problem, null);
        }

        List<Long> shape() {
            return experts == 0 ? List.of((long) d1, d2 * 1L) : List.of((long) experts, (long) d1, (long) d2);
        }
    }

    private MemoryParameters() {}

    static Map<String, Parameter> of(Optional<ConversionRules> rules, Map<String, TensorInfo> base) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        Map<String, List<Converted>> byConverter = new LinkedHashMap<>();
        for (TensorInfo t : base.values()) {
            if (t.rank() != 2 && t.rank() != 3) {
                continue;
            }
            ConversionRules.MemoryName m = rules.map(r -> r.toMemory(t.name()))
                    .orElse(new ConversionRules.MemoryName(t.name(), Optional.empty(), -1));
            if (m.converter().isPresent()) {
                byConverter.computeIfAbsent(m.memoryName(), k -> new ArrayList<>())
                        .add(new Converted(t, m.converter().get(), m.sourceIndex()));
            } else if (t.rank() == 2) {
                int d1 = Math.toIntExact(t.shape().get(0));
                int d2 = Math.toIntExact(t.shape().get(1));
                out.putIfAbsent(m.memoryName(), new Parameter(m.memoryName(), 0, d1, d2,
                        List.of(new Part(t.name(), 0, 0, d1, 0, d2, false)), null));
            } else {
                int d1 = Math.toIntExact(t.shape().get(1));
                int d2 = Math.toIntExact(t.shape().get(2));
                out.putIfAbsent(m.memoryName(), new Parameter(m.memoryName(), Math.toIntExact(t.shape().get(0)), d1,
                        d2, List.of(new Part(t.name(), -1, 0, d1, 0, d2, false)), null));
            }
        }
        byConverter.forEach((name, parts) -> out.putIfAbsent(name, converted(name, parts)));
        return out;
    }

    private record Converted(TensorInfo tensor, WeightTransform converter, int source) {}

    private static Parameter converted(String name, List<Converted> parts) {
        WeightTransform converter = parts.get(0).converter();
        List<String> ops = converter.operations().stream().map(WeightTransform.Operation::op).toList();
        if (ops.equals(List.of("Transpose")) && parts.size() == 1 && parts.get(0).tensor().rank() == 3) {
            WeightTransform.Operation op = converter.operations().get(0);
            TensorInfo t = parts.get(0).tensor();
            if (Math.min(op.dim0(), op.dim1()) != 1 || Math.max(op.dim0(), op.dim1()) != 2) {
                return unsupported(name, converter, "it transposes dims " + op.dim0() + " and " + op.dim1());
            }
            int experts = Math.toIntExact(t.shape().get(0));
            int d1 = Math.toIntExact(t.shape().get(2));
            int d2 = Math.toIntExact(t.shape().get(1));
            Parameter transposed = new Parameter(name, experts, d1, d2,
                    List.of(new Part(t.name(), -1, 0, d1, 0, d2, true)), null);
            if (!op.checkDims()) {
                return transposed;
            }
            // The layout of the checkpoint decides: as the parameter (saved by transformers 5), or transposed.
            return new Parameter(name, experts, d2, d1, List.of(new Part(t.name(), -1, 0, d2, 0, d1, false)), null,
                    d1 == d2 ? null : transposed);
        }
        boolean stacked = ops.equals(List.of("MergeModulelist")) || ops.equals(List.of("MergeModulelist", "Concatenate"));
        if (!stacked || converter.operations().get(0).dim() != 0) {
            return unsupported(name, converter, "its operations " + ops + " are not applied by this version");
        }
        int concatDim = ops.size() == 2 ? converter.operations().get(1).dim() : 1;
        if (concatDim != 1 && concatDim != 2) {
            return unsupported(name, converter, "it concatenates along dim " + concatDim);
        }
        int sources = converter.sources().size();
        long[] sizes = new long[sources];
        long other = -1;
        int experts = 0;
        List<int[]> indices = new ArrayList<>();
        for (Converted c : parts) {
            TensorInfo t = c.tensor();
            Optional<Integer> expert = expertIndex(converter.sources().get(c.source()), t.name());
            if (t.rank() != 2 || expert.isEmpty()) {
                return unsupported(name, converter, t.name() + " is not a 2-d per-expert tensor of it");
            }
            long along = t.shape().get(concatDim - 1);
            long across = t.shape().get(2 - concatDim);
            if ((sizes[c.source()] != 0 && sizes[c.source()] != along) || (other >= 0 && other != across)) {
                return unsupported(name, converter, "its per-expert tensors differ in shape (" + t.name() + " "
                        + t.shape() + ")");
            }
            sizes[c.source()] = along;
            other = across;
            experts = Math.max(experts, expert.get() + 1);
            indices.add(new int[] {expert.get(), c.source()});
        }
        if (Math.multiplyExact(experts, sources) != parts.size()) {
            return unsupported(name, converter, "it has " + parts.size() + " on-disk tensors, not one per expert ("
                    + experts + ") and source (" + sources + ")");
        }
        long[] offsets = new long[sources];
        for (int s = 1; s < sources; s++) {
            offsets[s] = Math.addExact(offsets[s - 1], sizes[s - 1]);
        }
        int total = Math.toIntExact(Math.addExact(offsets[sources - 1], sizes[sources - 1]));
        int across = Math.toIntExact(other);
        List<Part> out = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            int expert = indices.get(i)[0];
            int s = indices.get(i)[1];
            int offset = Math.toIntExact(offsets[s]);
            int size = Math.toIntExact(sizes[s]);
            out.add(concatDim == 1 ? new Part(parts.get(i).tensor().name(), expert, offset, size, 0, across, false)
                    : new Part(parts.get(i).tensor().name(), expert, 0, across, offset, size, false));
        }
        return concatDim == 1 ? new Parameter(name, experts, total, across, out, null)
                : new Parameter(name, experts, across, total, out, null);
    }

    /** The expert number where the source pattern has its {@code *} ({@code .experts.*.w1.weight}). */
    private static Optional<Integer> expertIndex(String source, String diskName) {
        int star = source.indexOf('*');
        if (star < 0) {
            return Optional.empty();
        }
        Matcher m = Pattern.compile(Pattern.quote(source.substring(0, star)) + "(\\d+)"
                + Pattern.quote(source.substring(star + 1)) + "$").matcher(diskName);
        return m.find() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
    }

    private static Parameter unsupported(String name, WeightTransform converter, String why) {
        return new Parameter(name, 0, 0, 0, List.of(), "transformers' converter " + converter.sources() + " -> "
                + converter.targets() + " cannot be undone for a delta: " + why);
    }
}
