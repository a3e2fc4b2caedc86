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
import java.util.TreeSet;

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
     * The shard files the index names, in file name order, each a plain name inside the checkpoint
     * directory.
     *
     * @throws SafetensorsException INVALID_INDEX if the weight map is empty or names a file that is
     *                              not a plain name (path separator, "..", hidden)
     */
    public List<String> shardFiles() throws SafetensorsException {
        if (weightMap.isEmpty()) {
            throw new SafetensorsException(INVALID_INDEX, FileNames.INDEX + " has an empty weight_map", null);
        }
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            String problem = FileNames.problem(e.getValue());
            if (problem != null) {
                throw new SafetensorsException(INVALID_INDEX, "weight_map entry for tensor '" + e.getKey() + "': "
                        + problem, e.getKey());
            }
        }
        return List.copyOf(new TreeSet<>(weightMap.values()));
    }

    /** The INVALID_INDEX failure for a shard the index names and the directory lacks. */
    public SafetensorsException missingShard(String fileName) {
        String tensor = weightMap.entrySet().stream().filter(e -> e.getValue().equals(fileName))
                .map(Map.Entry::getKey).findFirst().orElse(null);
        return new SafetensorsException(INVALID_INDEX, "weight_map entry for tensor '" + tensor
                + "' points to missing file '" + fileName + "'", tensor);
    }

    /**
     * Checks that the index and the shards' headers agree exactly: every tensor is stored in one
     * shard only, every stored tensor is in the weight map, and every weight-map entry names the
     * shard that stores it.
     *
     * @param headers each shard file's header, by file name, in shard order
     * @return tensor name to shard file name, in shard order then data order
     * @throws SafetensorsException INVALID_INDEX naming the first tensor that breaks a rule
     */
    public Map<String, String> locate(Map<String, SafetensorsHeader> headers) throws SafetensorsException {
        Map<String, String> located = new LinkedHashMap<>();
        for (Map.Entry<String, SafetensorsHeader> e : headers.entrySet()) {
            for (TensorInfo t : e.getValue().tensors()) {
                String other = located.putIfAbsent(t.name(), e.getKey());
                if (other != null) {
                    throw new SafetensorsException(INVALID_INDEX, "tensor '" + t.name() + "' is stored in both '"
                            + other + "' and '" + e.getKey() + "'", t.name());
                }
                if (!weightMap.containsKey(t.name())) {
                    throw new SafetensorsException(INVALID_INDEX, "tensor '" + t.name() + "' in '" + e.getKey()
                            + "' is missing from the weight_map", t.name());
                }
            }
        }
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            String at = located.get(e.getKey());
            if (!e.getValue().equals(at)) {
                throw new SafetensorsException(INVALID_INDEX, "weight_map maps tensor '" + e.getKey() + "' to '"
                        + e.getValue() + "', which does not contain it" + (at == null ? "" : " (it is in '" + at + "')"),
                        e.getKey());
            }
        }
        return located;
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
