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
