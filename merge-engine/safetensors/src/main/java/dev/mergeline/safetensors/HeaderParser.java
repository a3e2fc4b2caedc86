package dev.mergeline.safetensors;

import static dev.mergeline.safetensors.SafetensorsException.Reason.ARITHMETIC_OVERFLOW;
import static dev.mergeline.safetensors.SafetensorsException.Reason.DUPLICATE_KEY;
import static dev.mergeline.safetensors.SafetensorsException.Reason.HEADER_TOO_LARGE;
import static dev.mergeline.safetensors.SafetensorsException.Reason.HEADER_TOO_SMALL;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_HEADER_LENGTH;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_JSON;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_OFFSETS;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_SHAPE;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_UTF8;
import static dev.mergeline.safetensors.SafetensorsException.Reason.SIZE_MISMATCH;
import static dev.mergeline.safetensors.SafetensorsException.Reason.TOO_MANY_TENSORS;
import static dev.mergeline.safetensors.SafetensorsException.Reason.TRAILING_BYTES;
import static dev.mergeline.safetensors.SafetensorsException.Reason.UNKNOWN_DTYPE;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Validates safetensors headers. Structure is checked first (UTF-8, JSON syntax, repeated keys,
 * and the number of tensors, which stops the parse as soon as it passes the limit), then each tensor
 * entry in file order, then the layout of the data section as a whole.
 */
final class HeaderParser {

    static final String METADATA_KEY = "__metadata__";
    private static final Set<String> ENTRY_FIELDS = Set.of("dtype", "shape", "data_offsets");
    /** Smallest possible header: "{}". */
    private static final long MIN_HEADER_BYTES = 2;

    private HeaderParser() {
    }

    static long parseHeaderLength(ByteBuffer first8, long fileSize, long maxHeaderBytes) throws SafetensorsException {
        if (maxHeaderBytes < 0) {
            throw new IllegalArgumentException("maxHeaderBytes must be >= 0, got " + maxHeaderBytes);
        }
        int prefix = SafetensorsHeader.PREFIX_BYTES;
        if (fileSize < prefix) {
            throw new SafetensorsException(HEADER_TOO_SMALL,
                    "file of " + fileSize + " bytes is shorter than the " + prefix + "-byte header length", null);
        }
        if (first8.remaining() < prefix) {
            throw new SafetensorsException(HEADER_TOO_SMALL,
                    "got " + first8.remaining() + " bytes, need " + prefix + " for the header length", null);
        }
        long n = first8.duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (Long.compareUnsigned(n, maxHeaderBytes) > 0) {
            throw new SafetensorsException(HEADER_TOO_LARGE, "header length " + Long.toUnsignedString(n)
                    + " exceeds the limit of " + maxHeaderBytes + " bytes", null);
        }
        if (n < MIN_HEADER_BYTES) {
            throw new SafetensorsException(HEADER_TOO_SMALL,
                    "header length " + n + " is below the minimum of " + MIN_HEADER_BYTES + " bytes (\"{}\")", null);
        }
        if (n > fileSize - prefix) {
            throw new SafetensorsException(INVALID_HEADER_LENGTH, "header length " + n + " needs a file of at least "
                    + (prefix + n) + " bytes but the file has " + fileSize, null);
        }
        return n;
    }

    static SafetensorsHeader parse(byte[] headerJson, long fileSize, int maxTensors) throws SafetensorsException {
        if (maxTensors < 0) {
            throw new IllegalArgumentException("maxTensors must be >= 0, got " + maxTensors);
        }
        long headerLength = headerJson.length;
        long dataStart = SafetensorsHeader.PREFIX_BYTES + headerLength;
        if (fileSize < dataStart) {
            throw new SafetensorsException(INVALID_HEADER_LENGTH, "header length " + headerLength
                    + " needs a file of at least " + dataStart + " bytes but the file has " + fileSize, null);
        }
        JsonNode root = parseJson(headerJson, maxTensors);

        Map<String, String> metadata = Map.of();
        List<TensorInfo> tensors = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (METADATA_KEY.equals(e.getKey())) {
                metadata = parseMetadata(e.getValue());
            } else {
                tensors.add(parseEntry(e.getKey(), e.getValue()));
            }
        }
        checkLayout(tensors, fileSize - dataStart);
        return new SafetensorsHeader(headerLength, metadata, tensors);
    }

    private static JsonNode parseJson(byte[] headerJson, int maxTensors) throws SafetensorsException {
        String text;
        try {
            text = JsonSupport.decodeUtf8(headerJson);
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(INVALID_UTF8, "header is not valid UTF-8: " + e.getMessage(), null, e);
        }
        if (!text.startsWith("{")) {
            String start = text.isEmpty() ? "nothing" : "'" + escape(text.substring(0, Math.min(16, text.length()))) + "'";
            throw new SafetensorsException(INVALID_JSON, "header must start with '{', starts with " + start, null);
        }
        JsonSupport.MemberLimit tensorLimit = new JsonSupport.MemberLimit(maxTensors, key -> !METADATA_KEY.equals(key),
                (max, key) -> new SafetensorsException(TOO_MANY_TENSORS, "header lists more than the limit of " + max
                        + " tensors; parsing stopped at tensor number " + (max + 1L) + ", '" + escape(key) + "'", key));
        return JsonSupport.parse(text,
                (problem, cause) -> new SafetensorsException(INVALID_JSON, "header is not valid JSON: " + problem, null, cause),
                HeaderParser::duplicateKey, tensorLimit);
    }

    private static SafetensorsException duplicateKey(List<String> path, String key) {
        if (path.isEmpty()) {
            String what = METADATA_KEY.equals(key) ? "key '" + key + "'" : "tensor '" + key + "'";
            return new SafetensorsException(DUPLICATE_KEY, "header defines " + what + " twice",
                    METADATA_KEY.equals(key) ? null : key);
        }
        String owner = path.get(0);
        String where = String.join(".", path);
        return new SafetensorsException(DUPLICATE_KEY, "key '" + key + "' appears twice in '" + where + "'",
                METADATA_KEY.equals(owner) ? null : owner);
    }

    private static Map<String, String> parseMetadata(JsonNode node) throws SafetensorsException {
        if (node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new SafetensorsException(INVALID_JSON,
                    METADATA_KEY + " must be an object of strings, got " + JsonSupport.typeOf(node), null);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(INVALID_JSON, METADATA_KEY + " value for '" + e.getKey()
                        + "' must be a string, got " + JsonSupport.typeOf(e.getValue()), null);
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
        return metadata;
    }

    private static TensorInfo parseEntry(String name, JsonNode node) throws SafetensorsException {
        if (!node.isObject()) {
            throw new SafetensorsException(INVALID_JSON, "tensor '" + name
                    + "' must be an object with dtype, shape and data_offsets, got " + JsonSupport.typeOf(node), name);
        }
        for (Map.Entry<String, JsonNode> property : node.properties()) {
            String field = property.getKey();
            if (!ENTRY_FIELDS.contains(field)) {
                throw new SafetensorsException(INVALID_JSON, "tensor '" + name + "' has unknown field '" + field
                        + "' (allowed: dtype, shape, data_offsets)", name);
            }
        }
        for (String field : List.of("dtype", "shape", "data_offsets")) {
            if (!node.has(field)) {
                throw new SafetensorsException(INVALID_JSON, "tensor '" + name + "' lacks field '" + field + "'", name);
            }
        }
        DType dtype = parseDType(name, node.get("dtype"));
        List<Long> shape = parseShape(name, node.get("shape"));
        long[] offsets = parseOffsets(name, node.get("data_offsets"));

        long byteLength;
        try {
            byteLength = Shapes.byteLength(dtype, shape);
        } catch (ArithmeticException e) {
            throw new SafetensorsException(ARITHMETIC_OVERFLOW, "tensor '" + name + "' (" + dtype + " " + shape
                    + ") has a size in bytes that overflows a signed 64-bit integer", name, e);
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (end < begin) {
            throw new SafetensorsException(INVALID_OFFSETS, "tensor '" + name + "' data_offsets [" + begin + ", " + end
                    + "] end before they begin", name);
        }
        if (end - begin != byteLength) {
            throw new SafetensorsException(SIZE_MISMATCH, "tensor '" + name + "' (" + dtype + " " + shape + ") needs "
                    + byteLength + " bytes but data_offsets [" + begin + ", " + end + "] give " + (end - begin), name);
        }
        return new TensorInfo(name, dtype, shape, begin, byteLength);
    }

    private static DType parseDType(String name, JsonNode node) throws SafetensorsException {
        if (!node.isTextual()) {
            throw new SafetensorsException(INVALID_JSON, "tensor '" + name + "' dtype must be a string, got "
                    + JsonSupport.typeOf(node), name);
        }
        String s = node.textValue();
        return DType.fromSafetensorsName(s).orElseThrow(() -> new SafetensorsException(UNKNOWN_DTYPE, "tensor '" + name
                + "' has unknown dtype '" + escape(s) + "' (known: " + Arrays.toString(DType.values()) + ")", name));
    }

    private static List<Long> parseShape(String name, JsonNode node) throws SafetensorsException {
        if (!node.isArray()) {
            throw new SafetensorsException(INVALID_JSON, "tensor '" + name + "' shape must be an array, got "
                    + JsonSupport.typeOf(node), name);
        }
        List<Long> shape = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            JsonNode d = node.get(i);
            if (!d.isIntegralNumber()) {
                throw new SafetensorsException(INVALID_SHAPE, "tensor '" + name + "' shape dimension " + i
                        + " must be a non-negative integer, got " + JsonSupport.typeOf(d), name);
            }
            if (d.bigIntegerValue().signum() < 0) {
                throw new SafetensorsException(INVALID_SHAPE, "tensor '" + name + "' shape dimension " + i + " is "
                        + d.asText() + ", must be >= 0", name);
            }
            if (!d.canConvertToLong()) {
                throw new SafetensorsException(ARITHMETIC_OVERFLOW, "tensor '" + name + "' shape dimension " + i
                        + " is " + d.asText() + ", above the maximum of " + Long.MAX_VALUE, name);
            }
            shape.add(d.longValue());
        }
        return shape;
    }

    private static long[] parseOffsets(String name, JsonNode node) throws SafetensorsException {
        if (!node.isArray()) {
            throw new SafetensorsException(INVALID_JSON, "tensor '" + name + "' data_offsets must be an array, got "
                    + JsonSupport.typeOf(node), name);
        }
        if (node.size() != 2) {
            throw new SafetensorsException(INVALID_OFFSETS, "tensor '" + name + "' data_offsets must hold 2 values"
                    + " [begin, end], got " + node.size(), name);
        }
        long[] out = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber()) {
                throw new SafetensorsException(INVALID_JSON, "tensor '" + name + "' data_offsets[" + i
                        + "] must be an integer, got " + JsonSupport.typeOf(v), name);
            }
            BigInteger b = v.bigIntegerValue();
            if (b.signum() < 0 || !v.canConvertToLong()) {
                throw new SafetensorsException(INVALID_OFFSETS, "tensor '" + name + "' data_offsets[" + i + "] is " + b
                        + ", must be between 0 and " + Long.MAX_VALUE, name);
            }
            out[i] = v.longValue();
        }
        return out;
    }

    /**
     * Checks that the tensors, sorted by offset, tile the data section exactly: the first starts at
     * 0, each starts where the previous ended, and the last ends at the end of the file.
     */
    private static void checkLayout(List<TensorInfo> tensors, long available) throws SafetensorsException {
        List<TensorInfo> sorted = new ArrayList<>(tensors);
        sorted.sort(TensorList.DATA_ORDER);
        long expected = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.dataOffset() != expected) {
                String range = "[" + t.dataOffset() + ", " + t.dataEnd() + "]";
                String msg;
                if (previous == null) {
                    msg = "tensor '" + t.name() + "' data_offsets " + range + " leave a gap: the first tensor must start at 0";
                } else if (t.dataOffset() < expected) {
                    msg = "tensor '" + t.name() + "' data_offsets " + range + " overlap tensor '" + previous.name()
                            + "', which ends at " + expected;
                } else {
                    msg = "tensor '" + t.name() + "' data_offsets " + range + " leave a gap of "
                            + (t.dataOffset() - expected) + " bytes after tensor '" + previous.name()
                            + "', which ends at " + expected;
                }
                throw new SafetensorsException(INVALID_OFFSETS, msg, t.name());
            }
            if (t.dataEnd() > available) {
                throw new SafetensorsException(INVALID_OFFSETS, "tensor '" + t.name() + "' data_offsets ["
                        + t.dataOffset() + ", " + t.dataEnd() + "] go past the end of the data section, which holds "
                        + available + " bytes", t.name());
            }
            expected = t.dataEnd();
            previous = t;
        }
        if (expected < available) {
            throw new SafetensorsException(TRAILING_BYTES, "tensor data ends at data offset " + expected
                    + " but the data section holds " + available + " bytes (" + (available - expected)
                    + " trailing bytes)", null);
        }
    }

    /** Makes a string safe to quote in a message (control characters escaped, length capped). */
    static String escape(String s) {
        StringBuilder b = new StringBuilder();
        int limit = Math.min(s.length(), 64);
        for (int i = 0; i < limit; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (s.length() > limit) {
            b.append("...");
        }
        return b.toString();
    }
}
