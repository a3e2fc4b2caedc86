package dev.mergeline.onnx;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds a small ONNX {@code ModelProto} in memory: graph inputs and outputs with symbolic or
 * fixed dimensions, and nodes with int / ints / float attributes, in the default domain or ONNX
 * Runtime's {@value #MICROSOFT_DOMAIN}. Field numbers follow {@code onnx.proto}
 * (ModelProto, GraphProto, NodeProto, AttributeProto, ValueInfoProto, TypeProto,
 * TensorShapeProto, OperatorSetIdProto).
 */
final class OnnxModelBuilder {

    /** ONNX IR version 8 (ONNX 1.10+), loadable by every ORT release since 1.10. */
    static final long IR_VERSION = 8;
    /** Default-domain opset; 17 still has ReduceL2 axes as an attribute. */
    static final long OPSET = 17;
    /** ONNX Runtime's contrib operator domain, imported (version 1) when a node uses it. */
    static final String MICROSOFT_DOMAIN = "com.microsoft";

    /** {@code TensorProto.DataType} values. */
    enum ElemType {
        FLOAT(1),
        INT64(7),
        FLOAT16(10),
        DOUBLE(11),
        BFLOAT16(16);

        final int code;

        ElemType(int code) {
            this.code = code;
        }
    }

    private static final int ATTRIBUTE_FLOAT = 1;
    private static final int ATTRIBUTE_INT = 2;
    private static final int ATTRIBUTE_INTS = 7;

    private final String graphName;
    private final List<ProtoWriter> nodes = new ArrayList<>();
    private final List<ProtoWriter> inputs = new ArrayList<>();
    private final List<ProtoWriter> outputs = new ArrayList<>();
    private int nextName;
    private boolean usesMicrosoftDomain;

    OnnxModelBuilder(String graphName) {
        this.graphName = graphName;
    }

    /**
     * Declares a graph input. Each dimension is a {@link String} (symbolic {@code dim_param}) or a
     * {@link Number} ({@code dim_value}); no dimensions means a scalar.
     */
    OnnxModelBuilder input(String name, ElemType type, Object... dims) {
        inputs.add(valueInfo(name, type, dims));
        return this;
    }

    /** Declares a graph output; see {@link #input}. */
    OnnxModelBuilder output(String name, ElemType type, Object... dims) {
        outputs.add(valueInfo(name, type, dims));
        return this;
    }

    /** A fresh intermediate value name. */
    String temp() {
        return "t" + nextName++;
    }

    /** Adds a node without attributes writing {@code output}; returns {@code output}. */
    String node(String opType, String output, String... nodeInputs) {
        return node(opType, output, List.of(), nodeInputs);
    }

    /** {@code Cast(input, to=type)} writing {@code output}; returns {@code output}. */
    String cast(String input, ElemType type, String output) {
        return node("Cast", output, List.of(intAttribute("to", type.code)), input);
    }

    /**
     * ONNX Runtime's {@code com.microsoft.FusedMatMul(left, right, alpha)} writing {@code output}:
     * {@code alpha·(left@right)}, the scaling applied to each finished fp32 dot product (one rounding,
     * as a separate {@code Mul} would round it).
     */
    String fusedMatMul(String left, String right, float alpha, String output) {
        usesMicrosoftDomain = true;
        return node(MICROSOFT_DOMAIN, "FusedMatMul", output, List.of(floatAttribute("alpha", alpha)), left, right);
    }

    /** {@code ReduceL2(input, axes=[axis], keepdims=1)} writing {@code output}. */
    String reduceL2KeepDims(String input, long axis, String output) {
        return node("ReduceL2", output,
                List.of(intsAttribute("axes", axis), intAttribute("keepdims", 1)), input);
    }

    /** The serialized {@code ModelProto}. */
    byte[] build() {
        ProtoWriter graph = new ProtoWriter();
        nodes.forEach(n -> graph.message(1, n)); // GraphProto.node
        graph.string(2, graphName); // GraphProto.name
        inputs.forEach(i -> graph.message(11, i)); // GraphProto.input
        outputs.forEach(o -> graph.message(12, o)); // GraphProto.output

        ProtoWriter opset = new ProtoWriter().string(1, "").varint(2, OPSET); // OperatorSetIdProto
        ProtoWriter model = new ProtoWriter()
                .varint(1, IR_VERSION) // ModelProto.ir_version
                .string(2, "mergeline") // producer_name
                .message(7, graph) // graph
                .message(8, opset); // opset_import
        if (usesMicrosoftDomain) {
            model.message(8, new ProtoWriter().string(1, MICROSOFT_DOMAIN).varint(2, 1));
        }
        return model.toByteArray();
    }

    private String node(String opType, String output, List<ProtoWriter> attributes, String... nodeInputs) {
        return node("", opType, output, attributes, nodeInputs);
    }

    private String node(String domain, String opType, String output, List<ProtoWriter> attributes,
            String... nodeInputs) {
        ProtoWriter node = new ProtoWriter();
        for (String input : nodeInputs) {
            node.string(1, input); // NodeProto.input
        }
        node.string(2, output); // NodeProto.output
        node.string(3, "n" + nodes.size()); // NodeProto.name
        node.string(4, opType); // NodeProto.op_type
        attributes.forEach(a -> node.message(5, a)); // NodeProto.attribute
        if (!domain.isEmpty()) {
            node.string(7, domain); // NodeProto.domain
        }
        nodes.add(node);
        return output;
    }

    private static ProtoWriter intAttribute(String name, long value) {
        return new ProtoWriter()
                .string(1, name) // AttributeProto.name
                .varint(3, value) // AttributeProto.i
                .varint(20, ATTRIBUTE_INT); // AttributeProto.type
    }

    private static ProtoWriter floatAttribute(String name, float value) {
        return new ProtoWriter()
                .string(1, name) // AttributeProto.name
                .float32(2, value) // AttributeProto.f
                .varint(20, ATTRIBUTE_FLOAT); // AttributeProto.type
    }

    private static ProtoWriter intsAttribute(String name, long... values) {
        ProtoWriter attribute = new ProtoWriter().string(1, name);
        for (long v : values) {
            attribute.varint(8, v); // AttributeProto.ints, unpacked (parsers accept both encodings)
        }
        return attribute.varint(20, ATTRIBUTE_INTS);
    }

    private static ProtoWriter valueInfo(String name, ElemType type, Object... dims) {
        ProtoWriter shape = new ProtoWriter();
        for (Object dim : dims) {
            ProtoWriter dimension = new ProtoWriter();
            if (dim instanceof String param) {
                dimension.string(2, param); // Dimension.dim_param
            } else if (dim instanceof Number value) {
                dimension.varint(1, value.longValue()); // Dimension.dim_value
            } else {
                throw new IllegalArgumentException("dimension must be a String or a Number: " + dim);
            }
            shape.message(1, dimension); // TensorShapeProto.dim
        }
        ProtoWriter tensor = new ProtoWriter()
                .varint(1, type.code) // TypeProto.Tensor.elem_type
                .message(2, shape); // TypeProto.Tensor.shape
        ProtoWriter typeProto = new ProtoWriter().message(1, tensor); // TypeProto.tensor_type
        return new ProtoWriter()
                .string(1, name) // ValueInfoProto.name
                .message(2, typeProto); // ValueInfoProto.type
    }
}
