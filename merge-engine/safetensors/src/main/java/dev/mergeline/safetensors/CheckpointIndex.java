package dev.mergeline.safetensors;

import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_INDEX;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The contents of {@code model.safetensors.index.json}.
 *
 * @param totalSize the declared total size of the tensors in bytes (0 when the file declares none)
 * @param weightMap tensor name to shard file name, in file order
 */
public record CheckpointIndex(long totalSize, Map<String, String> weightMap) {

    /** Orders strings by Unicode code point, as Python's sort does. */
    private static final Comparator<String> CODE_POINT_ORDER = (a, b) -> {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    };

    public CheckpointIndex {
        if (totalSize < 0) {
            throw new IllegalArgumentException("totalSize must be >= 0, got " + totalSize);
        }
        Map<String, String> copy = new LinkedHashMap<>();
        weightMap.forEach((k, v) -> copy.put(Objects.requireNonNull(k, "tensor name"), Objects.requireNonNull(v, "file name")));
        weightMap = Collections.unmodifiableMap(copy);
    }

    /** The index for a layout: every tensor mapped to its shard, total size = all tensor bytes. */
    public static CheckpointIndex of(ShardLayout layout) {
        Map<String, String> map = new LinkedHashMap<>();
        for (ShardLayout.Shard s : layout.shards()) {
            for (TensorSpec t : s.tensors()) {
                map.put(t.name(), s.fileName());
            }
        }
        return new CheckpointIndex(layout.totalTensorBytes(), map);
    }

    /**
     * Parses {@code {"metadata": {"total_size": N, ...}, "weight_map": {tensor: file, ...}}}.
     * Other keys, in "metadata" and at the top level, are ignored; "metadata" and "total_size"
     * may be absent.
     *
     * @throws SafetensorsException INVALID_INDEX for invalid UTF-8 or JSON, a repeated key, or a
     *                              field of the wrong type
     */
    public static CheckpointIndex parse(byte[] json) throws SafetensorsException {
        String text;
        try {
            text = JsonSupport.decodeUtf8(json);
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(INVALID_INDEX, "index is not valid UTF-8: " + e.getMessage(), null, e);
        }
        JsonNode root = JsonSupport.parse(text,
                (problem, cause) -> new SafetensorsException(INVALID_INDEX, "index is not valid JSON: " + problem, null, cause),
                (path, key) -> new SafetensorsException(INVALID_INDEX, "index repeats key '" + key + "'"
                        + (path.isEmpty() ? "" : " in '" + String.join(".", path) + "'"),
                        path.equals(List.of("weight_map")) ? key : null));
        if (!root.isObject()) {
            throw new SafetensorsException(INVALID_INDEX, "index must be a JSON object, got " + JsonSupport.typeOf(root), null);
        }
        long totalSize = 0;
        JsonNode metadata = root.get("metadata");
        if (metadata != null && !metadata.isNull()) {
            if (!metadata.isObject()) {
                throw new SafetensorsException(INVALID_INDEX, "index 'metadata' must be an object, got "
                        + JsonSupport.typeOf(metadata), null);
            }
            JsonNode size = metadata.get("total_size");
            if (size != null && !size.isNull()) {
                if (!size.isIntegralNumber() || size.bigIntegerValue().signum() < 0 || !size.canConvertToLong()) {
                    throw new SafetensorsException(INVALID_INDEX, "index 'metadata.total_size' must be an integer between 0 and "
                            + Long.MAX_VALUE + ", got " + JsonSupport.typeOf(size), null);
                }
                totalSize = size.longValue();
            }
        }
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new SafetensorsException(INVALID_INDEX, "index 'weight_map' must be an object, got "
                    + JsonSupport.typeOf(map), null);
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(INVALID_INDEX, "index 'weight_map' entry for '" + e.getKey()
                        + "' must be a file name string, got " + JsonSupport.typeOf(e.getValue()), e.getKey());
            }
            weightMap.put(e.getKey(), e.getValue().textValue());
        }
        return new CheckpointIndex(totalSize, weightMap);
    }

    /**
     * The index as transformers writes it: {@code json.dumps(index, indent=2, sort_keys=True)}
     * plus a newline, with {"metadata": {"total_size": N}} and the weight map sorted by tensor
     * name.
     */
    public byte[] toJson() {
        List<String> names = new ArrayList<>(weightMap.keySet());
        names.sort(CODE_POINT_ORDER);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JsonSupport.pythonStyleGenerator(out)) {
            g.writeStartObject();
            g.writeObjectFieldStart("metadata");
            g.writeNumberField("total_size", totalSize);
            g.writeEndObject();
            g.writeObjectFieldStart("weight_map");
            for (String name : names) {
                g.writeStringField(name, weightMap.get(name));
            }
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON to memory failed", e);
        }
        out.write('\n');
        return out.toByteArray();
    }
}
