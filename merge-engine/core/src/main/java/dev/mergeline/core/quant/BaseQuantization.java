package dev.mergeline.core.quant;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorInfo;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The rules for a base with a {@code quantization_config}, from {@code config.json} and the
 * safetensors headers alone: which methods are merged, and whether the stored FP8 weights and
 * their scale grids agree. Every quantization method but FP8 block scaling is refused
 * ({@code BASE_QUANTIZED}) with a {@code detail} of its own and the way forward.
 */
public final class BaseQuantization {
    /** Suffix of a quantized weight's scale grid, next to {@code .weight}. */
    public static final String SCALE_SUFFIX = "_scale_inv";

    private BaseQuantization() {}

    /**
     * The FP8 block scaling of a base, or empty with {@code reasons} added.
     *
     * @param quantizationConfig the base's {@code quantization_config}
     * @param baseTensors the base's tensors by name
     */
    public static Optional<Fp8BlockScaling> check(JsonNode quantizationConfig, Map<String, TensorInfo> baseTensors,
            List<Reason> reasons) {
        Optional<Fp8BlockScaling> scaling = method(quantizationConfig, reasons);
        if (scaling.isEmpty()) {
            return scaling;
        }
        int before = reasons.size();
        for (TensorInfo t : baseTensors.values()) {
            if (t.dtype() == DType.F8_E5M2) {
                reasons.add(new Reason(ReasonCode.BASE_QUANTIZED, "base tensor " + t.name() + " is F8_E5M2; FP8 block"
                        + " scaling is merged for e4m3 weights (F8_E4M3) only", t.name(), "F8_E4M3", "F8_E5M2",
                        "FP8_E5M2"));
            } else if (t.dtype() == DType.F8_E4M3) {
                checkScale(t, baseTensors.get(scaleName(t.name())), scaling.get(), reasons);
            }
        }
        return reasons.size() == before ? scaling : Optional.empty();
    }

    /** {@code x.weight} → {@code x.weight_scale_inv}. */
    public static String scaleName(String weight) {
        return weight + SCALE_SUFFIX;
    }

    private static void checkScale(TensorInfo weight, TensorInfo scale, Fp8BlockScaling scaling, List<Reason> reasons) {
        String scaleName = scaleName(weight.name());
        if (scale == null) {
            reasons.add(new Reason(ReasonCode.BASE_QUANTIZED, "base weight " + weight.name() + " is F8_E4M3 but the"
                    + " base has no " + scaleName + "; without its block scales its values are unknown", weight.name(),
                    scaleName, "absent", "SCALE_MISSING"));
            return;
        }
        if (scale.dtype() != DType.F32) {
            reasons.add(new Reason(ReasonCode.BASE_QUANTIZED, "scale " + scaleName + " is " + scale.dtype()
                    + "; block scales are merged as F32 only", scaleName, "F32", scale.dtype().name(), "SCALE_FORMAT"));
            return;
        }
        if (weight.rank() < 2) {
            reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, weight.name(), "FP8 weight " + weight.name()
                    + " must have at least 2 dimensions", "[..., rows, cols]", weight.shape()).withDetail("SCALE_GRID"));
            return;
        }
        int r = weight.rank();
        List<Long> expected = new java.util.ArrayList<>(weight.shape().subList(0, r - 2));
        expected.add(scaling.gridRows(weight.shape().get(r - 2)));
        expected.add(scaling.gridCols(weight.shape().get(r - 1)));
        if (!expected.equals(scale.shape())) {
            reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, scaleName, "scale grid " + scaleName
                    + " does not fit weight " + weight.name() + " " + weight.shape() + " in blocks of ["
                    + scaling.blockRows() + ", " + scaling.blockCols() + "]", expected, scale.shape())
                    .withDetail("SCALE_GRID"));
        }
    }

    /** The method and its parameters, or empty with the refusal. */
    private static Optional<Fp8BlockScaling> method(JsonNode config, List<Reason> reasons) {
        String method = config.path("quant_method").asText("").toLowerCase(Locale.ROOT);
        switch (method) {
            case "fp8" -> {
                return fp8(config, reasons);
            }
            case "gptq", "awq" -> refuse(reasons, method.toUpperCase(Locale.ROOT), method.toUpperCase(Locale.ROOT)
                    + " weights are integers fitted to calibration data; re-quantizing a merged weight needs that"
                    + " data. Merge into the original 16-bit base, then quantize the merged model with "
                    + method.toUpperCase(Locale.ROOT) + " again");
            case "bitsandbytes" -> {
                boolean fourBit = config.path("load_in_4bit").asBoolean(false)
                        || config.path("_load_in_4bit").asBoolean(false);
                refuse(reasons, fourBit ? "BITSANDBYTES_4BIT" : "BITSANDBYTES_8BIT", "bitsandbytes "
                        + (fourBit ? "4-bit (" + config.path("bnb_4bit_quant_type").asText("nf4") + ")" : "8-bit")
                        + " bases are refused: the adapter was trained against the quantized weights, but its merge is"
                        + " defined on the 16-bit weights they were made from. Merge into that original 16-bit base"
                        + " and load the merged model with bitsandbytes again");
            }
            case "compressed-tensors" -> refuse(reasons, "COMPRESSED_TENSORS", "compressed-tensors ("
                    + config.path("format").asText("unknown format") + ") bases are refused: merge into the unquantized"
                    + " base and quantize the merged model with llm-compressor again");
            case "mxfp4" -> refuse(reasons, "MXFP4", "MXFP4 (4-bit e2m1 values with e8m0 block scales) bases are"
                    + " refused: merge into the 16-bit release of the model, or dequantize it to bf16 first");
            default -> refuse(reasons, "UNKNOWN_METHOD", "quantization method '" + (method.isEmpty() ? "(none)" : method)
                    + "' is not one Mergeline merges into (it merges FP8 block-scaled bases, quant_method \"fp8\");"
                    + " merge into the unquantized base and quantize afterwards");
        }
        return Optional.empty();
    }

    private static Optional<Fp8BlockScaling> fp8(JsonNode config, List<Reason> reasons) {
        String fmt = config.path("fmt").asText("e4m3");
        if (!fmt.equals("e4m3")) {
            refuse(reasons, "FP8_FORMAT", "FP8 format '" + fmt + "' is refused; FP8 block scaling is merged for"
                    + " e4m3 only");
            return Optional.empty();
        }
        JsonNode scaleFmt = config.get("scale_fmt");
        if (scaleFmt != null && !scaleFmt.isNull() && !scaleFmt.asText().equals("float32")) {
            refuse(reasons, "SCALE_FORMAT", "scale format '" + scaleFmt.asText() + "' (scale_fmt) is refused; block"
                    + " scales are merged as float32 (weight_scale_inv F32) only");
            return Optional.empty();
        }
        JsonNode block = config.get("weight_block_size");
        if (block == null || !block.isArray() || block.size() != 2 || !block.get(0).canConvertToInt()
                || !block.get(1).canConvertToInt() || block.get(0).asInt() < 1 || block.get(1).asInt() < 1) {
            refuse(reasons, "FP8_BLOCK_SIZE", "quantization_config.weight_block_size must be two positive integers"
                    + " [rows, cols]; per-tensor FP8 without a block size is refused, found " + block);
            return Optional.empty();
        }
        return Optional.of(new Fp8BlockScaling(block.get(0).asInt(), block.get(1).asInt()));
    }

    private static void refuse(List<Reason> reasons, String detail, String message) {
        reasons.add(new Reason(ReasonCode.BASE_QUANTIZED, message, null, null, "quantization_config", detail));
    }
}
