package dev.mergeline.core.merge;

import dev.mergeline.core.merge.LowRankBlock.DeltaRounding;
import dev.mergeline.core.merge.LowRankBlock.Dora;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.DoubleSupplier;

/**
 * A start-up check of a {@link MergeKernel}: runs the kernel's real merge graphs on a few small
 * blocks and compares every output element with {@link ReferenceMergeKernel}, before the kernel may
 * touch a model. A provider whose libraries load but whose kernels fail or compute wrong numbers
 * (a broken CUDA install, a cuBLAS that ignores the TF32 switch) is caught here instead of mid-merge.
 *
 * <p>The blocks: plain LoRA on bf16 and f16 weights (Linear and Embedding rounding) with values on
 * coarse binary grids, where every fp32 sum and product is exact, so a correct kernel must agree
 * bit for bit; plain LoRA in fp32 with random values (within {@value #FP32_ULPS} ulps at the block's
 * largest magnitude: a matrix product's summation order may differ, a 10-bit TF32 product may not);
 * DoRA with random values rounded to bf16 (within 1 ulp); and an fp32 → bf16 conversion with ties.
 * Deterministic: the same blocks every time.
 */
public final class KernelProbe {

    /** Largest fp32 difference accepted, in ulps of the block's largest reference value. */
    static final int FP32_ULPS = 4;

    private final List<Case> cases;

    /** One probe block: its name, inputs, and how close the kernel's output must be. */
    private record Case(String name, LowRankBlock template, int maxUlps) {}

    private KernelProbe(List<Case> cases) {
        this.cases = cases;
    }

    /** The standard probe (five blocks, a few thousand elements). */
    public static KernelProbe standard() {
        Random random = new Random(0x6D657267L);
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("bf16 LoRA (Linear)", exactBlock(random, DType.BF16, DeltaRounding.FUSED, 32, 48, 4), 0));
        cases.add(new Case("f16 LoRA (Embedding)", exactBlock(random, DType.F16, DeltaRounding.DELTA_FIRST, 24, 40, 4), 0));
        cases.add(new Case("fp32 LoRA", randomBlock(random, DType.F32, DType.F32, 16, 64, 8, false), FP32_ULPS));
        cases.add(new Case("bf16 DoRA", randomBlock(random, DType.F32, DType.BF16, 12, 40, 4, true), 1));
        return new KernelProbe(cases);
    }

    /**
     * Runs every probe block on {@code kernel}.
     *
     * @return empty when every output agrees with the reference; otherwise the first disagreement or
     *     failure, in words (block, element, expected and actual values)
     */
    public Optional<String> check(MergeKernel kernel) {
        ReferenceMergeKernel reference = new ReferenceMergeKernel();
        for (Case c : cases) {
            Optional<String> problem;
            try {
                problem = compare(c, kernel, reference);
            } catch (RuntimeException | LinkageError e) {
                problem = Optional.of(c.name() + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            if (problem.isPresent()) {
                return problem;
            }
        }
        try {
            return checkConversion(kernel);
        } catch (RuntimeException | LinkageError e) {
            return Optional.of("fp32 to bf16 conversion: " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static Optional<String> compare(Case c, MergeKernel kernel, ReferenceMergeKernel reference) {
        LowRankBlock t = c.template();
        DType out = t.outType();
        ByteBuffer expected = ByteBuffer.allocateDirect(t.out().remaining()).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer actual = ByteBuffer.allocateDirect(t.out().remaining()).order(ByteOrder.LITTLE_ENDIAN);
        reference.lowRank(withOut(t, expected));
        kernel.lowRank(withOut(t, actual));
        int elements = (int) t.elements();
        float largest = 0;
        for (int i = 0; i < elements; i++) {
            largest = Math.max(largest, Math.abs(FloatBits.get(expected, out, i)));
        }
        float tolerance = c.maxUlps() == 0 ? 0 : c.maxUlps() * ulp(largest, out);
        for (int i = 0; i < elements; i++) {
            int e = FloatBits.getBits(expected, out, i);
            int a = FloatBits.getBits(actual, out, i);
            float ev = FloatBits.fromBits(e, out);
            float av = FloatBits.fromBits(a, out);
            boolean ok = c.maxUlps() == 0 ? e == a : Math.abs(ev - av) <= tolerance;
            if (!ok) {
                return Optional.of(String.format(java.util.Locale.ROOT,
                        "%s: element %d (row %d, column %d) is %s, the reference gives %s (%s tolerance)",
                        c.name(), i, i / t.cols(), i % t.cols(), av, ev,
                        c.maxUlps() == 0 ? "bit-exact" : c.maxUlps() + " ulp"));
            }
        }
        return Optional.empty();
    }

    private static Optional<String> checkConversion(MergeKernel kernel) {
        int n = 256;
        ByteBuffer in = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            // 1 + k·2^-9: every other value is a bf16 tie, rounded to even.
            in.putFloat(4 * i, (i % 2 == 0 ? 1 : -1) * (1 + (i / 2) * 0x1p-9f));
        }
        ByteBuffer expected = ByteBuffer.allocateDirect(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer actual = ByteBuffer.allocateDirect(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        new ReferenceMergeKernel().convert(in.duplicate(), DType.F32, expected, DType.BF16, n);
        kernel.convert(in.duplicate(), DType.F32, actual, DType.BF16, n);
        for (int i = 0; i < n; i++) {
            int e = FloatBits.getBits(expected, DType.BF16, i);
            int a = FloatBits.getBits(actual, DType.BF16, i);
            if (e != a) {
                return Optional.of(String.format(java.util.Locale.ROOT,
                        "fp32 to bf16 conversion: element %d is 0x%04x, the reference gives 0x%04x", i, a, e));
            }
        }
        return Optional.empty();
    }

    private static float ulp(float magnitude, DType type) {
        return switch (type) {
            case BF16 -> Math.ulp(magnitude) * (1 << 16);
            case F16 -> Math.max(Math.ulp(magnitude) * (1 << 13), 0x1p-24f);
            default -> Math.ulp(magnitude);
        };
    }

    private static LowRankBlock withOut(LowRankBlock t, ByteBuffer out) {
        return new LowRankBlock(t.base().duplicate().order(ByteOrder.LITTLE_ENDIAN), t.baseType(), t.outType(),
                t.left().duplicate().order(ByteOrder.LITTLE_ENDIAN), t.right().duplicate().order(ByteOrder.LITTLE_ENDIAN),
                t.rows(), t.cols(), t.rank(), t.scale(), t.rounding(),
                t.dora() == null ? null : new Dora(t.dora().magnitude().duplicate().order(ByteOrder.LITTLE_ENDIAN),
                        t.dora().perColumn()),
                out);
    }

    /** Grid values: base k·2^-10, factors i·2^-4 and j·2^-5, scale 2^-4; every fp32 step is exact. */
    private static LowRankBlock exactBlock(Random random, DType type, DeltaRounding rounding, int rows, int cols, int rank) {
        return block(type, type, rows, cols, rank, 0x1p-4f, rounding, false,
                () -> (random.nextInt(4095) - 2047) * 0x1p-10,
                () -> (random.nextInt(17) - 8) * 0x1p-4,
                () -> (random.nextInt(17) - 8) * 0x1p-5, null);
    }

    /** Realistic values: |base| in [0.5, 2), factors of a few tenths, magnitudes in [0.5, 2). */
    private static LowRankBlock randomBlock(Random random, DType baseType, DType outType, int rows, int cols, int rank,
            boolean dora) {
        return block(baseType, outType, rows, cols, rank, 2.0f / rank, DeltaRounding.FUSED, dora,
                () -> (random.nextBoolean() ? 1 : -1) * (0.5 + 1.5 * random.nextDouble()),
                () -> random.nextGaussian() * 0.2,
                () -> random.nextGaussian() * 0.2,
                () -> 0.5 + 1.5 * random.nextDouble());
    }

    private static LowRankBlock block(DType baseType, DType outType, int rows, int cols, int rank, float scale,
            DeltaRounding rounding, boolean dora, DoubleSupplier base, DoubleSupplier left, DoubleSupplier right,
            DoubleSupplier magnitude) {
        ByteBuffer b = fill(baseType, rows * cols, base);
        ByteBuffer l = fill(DType.F32, rows * rank, left);
        ByteBuffer r = fill(DType.F32, rank * cols, right);
        Dora d = dora ? new Dora(fill(DType.F32, rows, magnitude), false) : null;
        ByteBuffer out = ByteBuffer.allocateDirect(rows * cols * outType.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        return new LowRankBlock(b, baseType, outType, l, r, rows, cols, rank, scale, rounding, d, out);
    }

    private static ByteBuffer fill(DType type, int elements, DoubleSupplier values) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(elements * type.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < elements; i++) {
            FloatBits.put(buffer, type, i, (float) values.getAsDouble());
        }
        return buffer;
    }
}
