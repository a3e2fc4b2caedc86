package dev.mergeline.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.testing.Fp8Fixtures;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each quantization Mergeline does not merge into is refused with {@code BASE_QUANTIZED}, a detail
 * of its own and a message that says what to do instead (the FP8 base's scale checks are in the
 * hostile corpus).
 */
class QuantizedBaseRefusalTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** The llama-fp8-block case with its quantization_config replaced by {@code edit}'s. */
    private Reason refusal(Consumer<ObjectNode> edit) throws Exception {
        Path caseDir = Fp8Fixtures.caseDir("llama-fp8-block");
        Path base = PeftFixtures.copyDir(caseDir.resolve("base"), tmp.resolve("base"));
        ObjectNode config = (ObjectNode) JSON.readTree(base.resolve("config.json").toFile());
        ObjectNode quantization = config.putObject("quantization_config");
        edit.accept(quantization);
        JSON.writeValue(base.resolve("config.json").toFile(), config);
        RejectedException e = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(base, caseDir.resolve("adapter"), MergeOptions.defaults()));
        assertEquals(1, e.reasons().size(), e.reasons()::toString);
        Reason r = e.reasons().get(0);
        assertEquals(ReasonCode.BASE_QUANTIZED, r.code());
        return r;
    }

    private static void assertSays(Reason r, String detail, String advice) {
        assertEquals(detail, r.detail(), r::toString);
        assertTrue(r.message().contains(advice), r::message);
    }

    @Test
    void gptqNeedsItsCalibrationData() throws Exception {
        assertSays(refusal(q -> q.put("quant_method", "gptq").put("bits", 4)), "GPTQ", "quantize the merged model with GPTQ");
    }

    @Test
    void awqNeedsItsCalibrationData() throws Exception {
        assertSays(refusal(q -> q.put("quant_method", "awq").put("bits", 4)), "AWQ", "quantize the merged model with AWQ");
    }

    @Test
    void bitsandbytes4BitMergesIntoTheOriginalBase() throws Exception {
        assertSays(refusal(q -> q.put("quant_method", "bitsandbytes").put("load_in_4bit", true)
                .put("bnb_4bit_quant_type", "nf4")), "BITSANDBYTES_4BIT", "original 16-bit base");
    }

    @Test
    void bitsandbytes8BitMergesIntoTheOriginalBase() throws Exception {
        assertSays(refusal(q -> q.put("quant_method", "bitsandbytes").put("load_in_8bit", true)), "BITSANDBYTES_8BIT",
                "original 16-bit base");
    }

    @Test
    void compressedTensorsIsRefused() throws Exception {
        assertSays(refusal(q -> q.put("quant_method", "compressed-tensors").put("format", "float-quantized")),
                "COMPRESSED_TENSORS", "llm-compressor");
    }

    @Test
    void mxfp4IsRefused() throws Exception {
        assertSays(refusal(q -> q.put("quant_method", "mxfp4")), "MXFP4", "16-bit release");
    }

    @Test
    void unknownMethodIsNamed() throws Exception {
        assertSays(refusal(q -> q.put("quant_method", "hqq")), "UNKNOWN_METHOD", "'hqq'");
    }

    @Test
    void fp8E5m2FormatIsRefused() throws Exception {
        assertSays(refusal(q -> q.put("quant_method", "fp8").put("fmt", "e5m2").putArray("weight_block_size").add(16).add(16)),
                "FP8_FORMAT", "'e5m2'");
    }

    @Test
    void fp8WithoutBlockSizeIsRefused() throws Exception {
        assertSays(refusal(q -> q.put("quant_method", "fp8").put("fmt", "e4m3")), "FP8_BLOCK_SIZE", "weight_block_size");
    }

    /** The block size decides the grids: [32, 16] blocks do not fit the [16, 16] grids stored. */
    @Test
    void blockSizeDisagreeingWithTheGridsIsRefused() throws Exception {
        Path caseDir = Fp8Fixtures.caseDir("llama-fp8-block");
        Path base = PeftFixtures.copyDir(caseDir.resolve("base"), tmp.resolve("base2"));
        ObjectNode config = (ObjectNode) JSON.readTree(base.resolve("config.json").toFile());
        ((ObjectNode) config.get("quantization_config")).putArray("weight_block_size").add(32).add(16);
        JSON.writeValue(base.resolve("config.json").toFile(), config);
        RejectedException e = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(base, caseDir.resolve("adapter"), MergeOptions.defaults()));
        assertTrue(e.reasons().stream().allMatch(x -> x.code() == ReasonCode.TENSOR_SHAPE_MISMATCH
                && "SCALE_GRID".equals(x.detail())), e.reasons()::toString);
        assertEquals(10, e.reasons().size(), "every FP8 weight of more than 16 rows (all but k_proj, v_proj): " + e.reasons());
    }
}
