package dev.mergeline.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OnnxModelBuilderTest {

    @Test
    void varintsFollowTheWireFormat() {
        assertArrayEquals(new byte[] {0x08, (byte) 0xAC, 0x02}, new ProtoWriter().varint(1, 300).toByteArray());
        assertArrayEquals(new byte[] {(byte) 0xA0, 0x01, 0x07}, new ProtoWriter().varint(20, 7).toByteArray());
        byte[] negative = new ProtoWriter().varint(1, -1).toByteArray();
        assertEquals(11, negative.length, "tag + ten bytes for a negative int64");
        assertEquals(0x01, negative[10]);
    }

    @Test
    void lengthDelimitedFieldsCarryTheirLength() {
        byte[] bytes = new ProtoWriter().string(4, "Cast").toByteArray();
        assertArrayEquals(new byte[] {0x22, 0x04, 'C', 'a', 's', 't'}, bytes);
        ProtoWriter inner = new ProtoWriter().varint(1, 1);
        assertArrayEquals(new byte[] {0x3A, 0x02, 0x08, 0x01}, new ProtoWriter().message(7, inner).toByteArray());
    }

    @Test
    void floatsAreFixed32LittleEndian() {
        // field 2, wire type 5; 0.3f is 0x3E99999A
        assertArrayEquals(new byte[] {0x15, (byte) 0x9A, (byte) 0x99, (byte) 0x99, 0x3E},
                new ProtoWriter().float32(2, 0.3f).toByteArray());
    }

    @Test
    void onlyAGraphWithAContribNodeImportsItsDomain() {
        var bf16 = dev.mergeline.safetensors.DType.BF16;
        var rounding = dev.mergeline.core.merge.LowRankBlock.DeltaRounding.FUSED;
        String fixed = new String(MergeGraphs.lowRank(new MergeGraphs.LowRankKey(bf16, bf16, rounding, false, false, 0.3f)),
                StandardCharsets.ISO_8859_1);
        String fed = new String(MergeGraphs.lowRank(new MergeGraphs.LowRankKey(bf16, bf16, rounding, false, false, null)),
                StandardCharsets.ISO_8859_1);
        assertEquals(true, fixed.contains("FusedMatMul") && fixed.contains(OnnxModelBuilder.MICROSOFT_DOMAIN), fixed);
        assertEquals(false, fed.contains(OnnxModelBuilder.MICROSOFT_DOMAIN), fed);
        assertEquals(true, fed.contains("MatMul") && fed.contains("Mul"), fed);
    }

    @Test
    void modelStartsWithIrVersionAndNamesItsParts() {
        byte[] model = MergeGraphs.convert(new MergeGraphs.ConvertKey(
                dev.mergeline.safetensors.DType.F32, dev.mergeline.safetensors.DType.BF16));
        assertEquals(0x08, model[0]);
        assertEquals(OnnxModelBuilder.IR_VERSION, model[1]);
        String text = new String(model, StandardCharsets.ISO_8859_1);
        for (String part : new String[] {"mergeline_convert", "Cast", "in", "out", "n"}) {
            assertEquals(true, text.contains(part), part);
        }
    }

    @Test
    void dimensionsMustBeNamesOrNumbers() {
        OnnxModelBuilder builder = new OnnxModelBuilder("g");
        assertThrows(IllegalArgumentException.class,
                () -> builder.input("x", OnnxModelBuilder.ElemType.FLOAT, new Object()));
    }
}
