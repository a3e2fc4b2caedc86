package dev.mergeline.bench;

import dev.mergeline.core.merge.FloatBits;
import dev.mergeline.safetensors.Checkpoint;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Compares two checkpoints tensor by tensor (the benchmark's check that Mergeline's output is
 * PEFT's): same names, shapes and dtypes; counts bit-identical tensors and, for the others, the
 * largest difference in units in the last place of the 16-bit type.
 *
 * <pre>java -cp mergeline-bench.jar dev.mergeline.bench.CompareCheckpoints DIR_A DIR_B</pre>
 * Exit status 0 when every tensor is within one ulp, 1 otherwise.
 */
public final class CompareCheckpoints {
    private static final int WINDOW = 64 << 20;

    private CompareCheckpoints() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: CompareCheckpoints DIR_A DIR_B");
            System.exit(1);
        }
        try (Checkpoint a = Checkpoint.open(Path.of(args[0])); Checkpoint b = Checkpoint.open(Path.of(args[1]))) {
            TreeSet<String> names = new TreeSet<>(a.tensorNames());
            List<String> problems = new ArrayList<>();
            if (!names.equals(new TreeSet<>(b.tensorNames()))) {
                problems.add("tensor names differ");
            }
            int identical = 0;
            long maxUlp = 0;
            for (String name : names) {
                TensorInfo ta = a.tensor(name).orElseThrow();
                TensorInfo tb = b.tensor(name).orElse(null);
                if (tb == null) {
                    continue;
                }
                if (ta.dtype() != tb.dtype() || !ta.shape().equals(tb.shape())) {
                    problems.add(name + ": " + ta.dtype() + ta.shape() + " vs " + tb.dtype() + tb.shape());
                    continue;
                }
                long ulp = maxUlp(a.fileOf(name), ta, b.fileOf(name), tb);
                identical += ulp == 0 ? 1 : 0;
                maxUlp = Math.max(maxUlp, ulp);
            }
            System.out.printf("%d tensors: %d bit-identical, %d differ (max %d ulp)%s%n", names.size(), identical,
                    names.size() - identical, maxUlp, problems.isEmpty() ? "" : "; " + String.join("; ", problems));
            System.exit(problems.isEmpty() && maxUlp <= 1 ? 0 : 1);
        }
    }

    /**
     * Largest |a - b| in ulps of the tensor's dtype ({@link FloatBits#ulpDistance(int, int, DType)}: two
     * NaNs are equal, a NaN against a number is the largest distance); other dtypes compare bytes.
     */
    static long maxUlp(SafetensorsFile fa, TensorInfo a, SafetensorsFile fb, TensorInfo b) throws IOException {
        long max = 0;
        DType dtype = a.dtype();
        boolean floating = dtype == DType.F32 || dtype == DType.F16 || dtype == DType.BF16;
        int size = dtype.byteSize();
        for (long off = 0; off < a.byteLength(); off += WINDOW) {
            int n = (int) Math.min(WINDOW, a.byteLength() - off);
            ByteBuffer x = fa.slice(a, off, n);
            ByteBuffer y = fb.slice(b, off, n);
            if (x.equals(y)) {
                continue;
            }
            if (!floating) {
                return Long.MAX_VALUE; // the bytes differ
            }
            for (int i = 0; i < n / size; i++) {
                max = Math.max(max, FloatBits.ulpDistance(FloatBits.getBits(x, dtype, i),
                        FloatBits.getBits(y, dtype, i), dtype));
            }
        }
        return max;
    }
}
