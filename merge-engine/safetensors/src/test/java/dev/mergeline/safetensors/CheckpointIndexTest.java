package dev.mergeline.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CheckpointIndexTest {

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void parsesTransformersIndexIgnoringOtherKeys() throws SafetensorsException {
        CheckpointIndex i = CheckpointIndex.parse(utf8("{\"metadata\":{\"total_parameters\":3,\"total_size\":123},"
                + "\"weight_map\":{\"z\":\"b.safetensors\",\"a\":\"a.safetensors\"},\"extra\":[1]}"));
        assertEquals(123, i.totalSize());
        assertEquals(List.of("z", "a"), List.copyOf(i.weightMap().keySet()));
        assertEquals("b.safetensors", i.weightMap().get("z"));
    }

    @Test
    void metadataMayBeAbsent() throws SafetensorsException {
        assertEquals(0, CheckpointIndex.parse(utf8("{\"weight_map\":{\"a\":\"x\"}}")).totalSize());
    }

    @Test
    void toJsonMatchesPythonJsonDumpsIndent2SortKeys() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put("model.z", "model-00002-of-00002.safetensors");
        map.put("model.a", "model-00001-of-00002.safetensors");
        map.put("ü", "model-00001-of-00002.safetensors");
        String expected = """
                {
                  "metadata": {
                    "total_size": 42
                  },
                  "weight_map": {
                    "model.a": "model-00001-of-00002.safetensors",
                    "model.z": "model-00002-of-00002.safetensors",
                    "\\u00fc": "model-00001-of-00002.safetensors"
                  }
                }
                """;
        assertEquals(expected, new String(new CheckpointIndex(42, map).toJson(), StandardCharsets.UTF_8));
        assertEquals("{\n  \"metadata\": {\n    \"total_size\": 0\n  },\n  \"weight_map\": {}\n}\n",
                new String(new CheckpointIndex(0, Map.of()).toJson(), StandardCharsets.UTF_8));
    }

    @Test
    void toJsonRoundTrips() throws SafetensorsException {
        Map<String, String> map = Map.of("a\"b", "x.safetensors", "😀", "y.safetensors");
        CheckpointIndex i = new CheckpointIndex(7, map);
        assertEquals(i.weightMap(), CheckpointIndex.parse(i.toJson()).weightMap());
        assertEquals(7, CheckpointIndex.parse(i.toJson()).totalSize());
    }

    @Test
    void rejectsMalformedIndexes() {
        for (String bad : List.of("", "{", "[]", "{\"weight_map\":[]}", "{\"metadata\":[],\"weight_map\":{}}",
                "{\"metadata\":{\"total_size\":-1},\"weight_map\":{}}", "{\"metadata\":{\"total_size\":1.5},\"weight_map\":{}}",
                "{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}", "{\"weight_map\":{},\"weight_map\":{}}",
                "{\"weight_map\":{\"a\":null}}", "{\"weight_map\":{}} x", "{\"weight_map\":" + "[".repeat(5000) + "}")) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> CheckpointIndex.parse(utf8(bad)), bad);
            assertEquals(SafetensorsException.Reason.INVALID_INDEX, e.reason(), bad);
        }
        SafetensorsException utf = assertThrows(SafetensorsException.class,
                () -> CheckpointIndex.parse(new byte[] {'{', '"', (byte) 0xFF, '"', ':', '1', '}'}));
        assertEquals(SafetensorsException.Reason.INVALID_INDEX, utf.reason());
    }
}
