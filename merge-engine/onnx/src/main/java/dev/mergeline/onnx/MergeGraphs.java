package dev.mergeline.onnx;

import dev.mergeline.core.merge.LowRankBlock.DeltaRounding;
import dev.mergeline.onnx.OnnxModelBuilder.ElemType;
import dev.mergeline.safetensors.DType;

/**
 * The ONNX graphs behind {@link OnnxMergeKernel}, one per {@link LowRankKey} or {@link ConvertKey}.
 * All dimensions are symbolic, so one session serves every block shape. The scale is either an
 * input, so that one session serves every adapter, or fixed in the graph ({@link LowRankKey#fusedScale}),
 * which saves a pass over the block: ONNX Runtime's CPU {@code FusedMatMul} multiplies each finished
 * fp32 dot product by it, exactly the rounding of a separate {@code Mul}.
 *
 * <p>Low-rank graph, following {@code LowRankBlock}'s spec node by node:
 * <pre>
 * w = Cast(Cast(base, out), float)          (each Cast only where the type changes)
 * d = Mul(MatMul(left, right), scale)       (or FusedMatMul(left, right, alpha=scale))
 * DELTA_FIRST: d = Cast(Cast(d, out), float) (16-bit outputs only)
 * v = Add(w, d)
 * DoRA:        n = Cast(ReduceL2(Cast(v, double), axis, keepdims=1), float)
 *              v = Mul(Div(magnitude, n), v)  (magnitude fed as [rows,1] or [1,cols])
 * out = Cast(v, out)
 * </pre>
 * The DoRA norm is reduced in double: squares of fp32 values are exact in double, so the result
 * is the correctly rounded fp32 norm whatever order the runtime sums in, exactly what
 * {@code ReferenceMergeKernel} computes. An fp32 ReduceL2 was measured up to 7 ulps off on 200-wide rows.
 */
final class MergeGraphs {

    static final String BASE = "base";
    static final String LEFT = "left";
    static final String RIGHT = "right";
    static final String SCALE = "scale";
    static final String MAGNITUDE = "magnitude";
    static final String IN = "in";
    static final String OUT = "out";

    private MergeGraphs() {}

    /**
     * Identifies one low-rank graph. {@code perColumn} is false unless {@code dora}; {@code fusedScale}
     * is the scale fixed in the graph, or null for a graph that takes it as an input.
     */
    record LowRankKey(DType baseType, DType outType, DeltaRounding rounding, boolean dora, boolean perColumn,
            Float fusedScale) {
        LowRankKey withFusedScale(Float scale) {
            return new LowRankKey(baseType, outType, rounding, dora, perColumn, scale);
        }
    }

    /** Identifies one conversion graph. */
    record ConvertKey(DType from, DType to) {}

    static byte[] lowRank(LowRankKey key) {
        DType outType = key.outType();
        boolean castOut = outType != DType.F32;
        OnnxModelBuilder g = new OnnxModelBuilder("mergeline_low_rank");
        g.input(BASE, elemType(key.baseType()), "rows", "cols")
                .input(LEFT, ElemType.FLOAT, "rows", "rank")
                .input(RIGHT, ElemType.FLOAT, "rank", "cols");
        if (key.fusedScale() == null) {
            g.input(SCALE, ElemType.FLOAT);
        }
        if (key.dora()) {
            if (key.perColumn()) {
                g.input(MAGNITUDE, ElemType.FLOAT, 1, "cols");
            } else {
                g.input(MAGNITUDE, ElemType.FLOAT, "rows", 1);
            }
        }
        g.output(OUT, elemType(outType), "rows", "cols");

        String w = BASE;
        if (key.baseType() != outType) {
            w = g.cast(w, elemType(outType), g.temp());
        }
        if (castOut) {
            w = g.cast(w, ElemType.FLOAT, g.temp());
        }
        String d = key.fusedScale() != null
                ? g.fusedMatMul(LEFT, RIGHT, key.fusedScale(), g.temp())
                : g.node("Mul", g.temp(), g.node("MatMul", g.temp(), LEFT, RIGHT), SCALE);
        if (key.rounding() == DeltaRounding.DELTA_FIRST && castOut) {
            d = g.cast(g.cast(d, elemType(outType), g.temp()), ElemType.FLOAT, g.temp());
        }
        String v = g.node("Add", key.dora() || castOut ? g.temp() : OUT, w, d);
        if (key.dora()) {
            String wide = g.cast(v, ElemType.DOUBLE, g.temp());
            String wideNorm = g.reduceL2KeepDims(wide, key.perColumn() ? 0 : 1, g.temp());
            String norm = g.cast(wideNorm, ElemType.FLOAT, g.temp());
            String factor = g.node("Div", g.temp(), MAGNITUDE, norm);
            v = g.node("Mul", castOut ? g.temp() : OUT, factor, v);
        }
        if (castOut) {
            g.cast(v, elemType(outType), OUT);
        }
        return g.build();
    }

    static byte[] convert(ConvertKey key) {
        OnnxModelBuilder g = new OnnxModelBuilder("mergeline_convert");
        g.input(IN, elemType(key.from()), "n").output(OUT, elemType(key.to()), "n");
        g.cast(IN, elemType(key.to()), OUT);
        return g.build();
    }

    static ElemType elemType(DType type) {
        return switch (type) {
            case F32 -> ElemType.FLOAT;
            case F16 -> ElemType.FLOAT16;
            case BF16 -> ElemType.BFLOAT16;
            default -> throw new IllegalArgumentException("not an F32/F16/BF16 type: " + type);
        };
    }
}
