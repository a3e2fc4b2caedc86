package dev.mergeline.core.merge;

import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Verification of one merge: a {@link TensorProbe} per low-rank tensor and an elementwise check per
 * LoRA bias, fed by the executor's compute stage with the bytes it hands to the writer, and the
 * report that goes into the manifest. Also records targeted modules whose {@code lora_B} is all
 * zeros (PEFT's initialisation: the adapter does not change them).
 */
public final class MergeVerification {

    private final String seed;
    private final List<VerificationEntry> entries = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, String> zeroFactors = Collections.synchronizedMap(new LinkedHashMap<>());

    /** @param seed makes the probe vectors of this merge (the job id, or the inputs' identity offline) */
    public MergeVerification(String seed) {
        this.seed = seed;
    }

    TensorProbe probe(String tensor, int rows, int cols, int rank, float scale, DType outType, ByteBuffer left,
            ByteBuffer right, ByteBuffer magnitude, boolean perColumnDora) {
        return new TensorProbe(seed, tensor, rows, cols, rank, scale, outType, left, right, magnitude, perColumnDora);
    }

    void add(VerificationEntry entry) {
        entries.add(entry);
    }

    /** Notes that {@code tensor}'s LoRA factor {@code factor} holds only zeros. */
    void zeroFactor(String tensor, String factor) {
        zeroFactors.put(tensor, factor);
    }

    /** Whether every element of an fp32 factor is ±0. */
    static boolean allZero(ByteBuffer fp32) {
        ByteBuffer b = fp32.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = b.position(); i + 4 <= b.limit(); i += 4) {
            if ((b.getInt(i) & 0x7FFFFFFF) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Checks {@code b' = b + s·lora_B.bias} element by element: each merged element may differ from
     * the exact sum by the output dtype's rounding and the fp32 arithmetic, nothing more.
     */
    void checkBias(String tensor, ByteBuffer base, DType baseType, ByteBuffer loraBias, float scale, ByteBuffer out,
            DType outType, int elements) {
        double u = TensorProbe.unitRoundoff(outType);
        double worst = 0;
        boolean same = baseType == outType && base.mismatch(out) == -1;
        for (int j = 0; j < elements; j++) {
            double b = FloatBits.round(FloatBits.get(base, baseType, j), outType);
            double d = (double) scale * FloatBits.get(loraBias, DType.F32, j);
            double merged = FloatBits.get(out, outType, j);
            double residual = Math.abs(merged - (b + d));
            double bound = u * Math.abs(merged) + 0x1p-22 * (Math.abs(b) + Math.abs(d)) + Double.MIN_NORMAL;
            if (!(residual <= TensorProbe.SIGMAS * bound)) {
                throw new VerificationFailedException(tensor, String.format(java.util.Locale.ROOT,
                        "%s: element %d is %s, b + s·lora_B.bias is %s (%s rounding explains %.3g)",
                        tensor, j, merged, b + d, outType, bound));
            }
            worst = Math.max(worst, Math.abs(merged) == 0 ? residual : residual / Math.abs(merged));
        }
        add(new VerificationEntry(tensor, "bias", 0, worst, same));
    }

    /** The report of everything checked so far (the whole merge, once the executor has returned). */
    public VerificationReport report() {
        List<VerificationEntry> all;
        synchronized (entries) {
            all = List.copyOf(entries);
        }
        Map<String, String> zeros;
        synchronized (zeroFactors) {
            zeros = new LinkedHashMap<>(zeroFactors);
        }
        return VerificationReport.of(TensorProbe.PROBES, all, zeros);
    }
}
