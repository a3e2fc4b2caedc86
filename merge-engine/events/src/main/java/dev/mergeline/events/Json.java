package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The one Jackson configuration of the wire format, and translation of its errors. */
final class Json {
    /**
     * Nulls omitted; unknown properties ignored (forward compatible); strict types otherwise: no
     * string-to-number coercion, no floats as integers, no numbers as enum constants, no null for
     * primitives, no duplicate keys, nothing after the document.
     */
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private static final Pattern MISSING_CREATOR_PROPERTY = Pattern.compile("Missing required creator property '([^']*)'");

    private Json() {}

    /** Parses a whole document; malformed JSON is an {@link EventFormatException}. */
    static JsonNode parse(byte[] bytes) {
        if (bytes == null) {
            throw new EventFormatException(null, null, "message is null");
        }
        try {
            JsonNode node = MAPPER.readTree(bytes);
            if (node == null || node.isMissingNode()) {
                throw new EventFormatException(null, null, "message is empty");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw translate(e, null, null);
        } catch (IOException e) {
            throw new EventFormatException(null, null, "unreadable message: " + e.getMessage(), e);
        }
    }

    /** Binds {@code node} to {@code type}; {@code root} names the node's path in messages (e.g. "data"). */
    static <T> T bind(JsonNode node, Class<T> type, String root) {
        try {
            return MAPPER.treeToValue(node, type);
        } catch (JsonProcessingException e) {
            throw translate(e, root, node);
        } catch (IllegalArgumentException e) {
            throw new EventFormatException(root, null, "cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * @param e Jackson's error
     * @param root path of the bound node in messages, or null
     * @param node the node being bound (to quote the offending value), or null
     */
    static EventFormatException translate(JsonProcessingException e, String root, JsonNode node) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EventFormatException efe) {
                return efe.under(e instanceof JsonMappingException m ? path(m, root) : root);
            }
        }
        if (e instanceof JsonParseException p) {
            return new EventFormatException(null, null, "malformed JSON: " + p.getOriginalMessage(), e);
        }
        if (e instanceof MismatchedInputException m) {
            String path = path(m, root);
            Matcher missing = MISSING_CREATOR_PROPERTY.matcher(m.getOriginalMessage());
            if (missing.find()) {
                String name = missing.group(1);
                String field = path == null || path.isEmpty() || path.endsWith("." + name) || path.equals(name)
                        ? path : path + "." + name;
                return new EventFormatException(field == null || field.isEmpty() ? name : field, null,
                        "required field is missing", e);
            }
            JsonNode offending = at(node, m);
            if (offending != null && offending.isNull()) {
                return new EventFormatException(path, null, "required field is null", e);
            }
            String value = m instanceof InvalidFormatException f && f.getValue() != null ? String.valueOf(f.getValue())
                    : offending == null ? null : offending.isTextual() ? offending.asText() : offending.toString();
            String expected = m.getTargetType() == null ? "another type" : describe(m.getTargetType());
            return new EventFormatException(path, value == null ? null : EventFormatException.abbreviate(value),
                    "wrong type or value, expected " + expected, e);
        }
        if (e instanceof JsonMappingException m) {
            return new EventFormatException(path(m, root), null, firstLine(m.getOriginalMessage()), e);
        }
        return new EventFormatException(root, null, firstLine(e.getOriginalMessage()), e);
    }

    /** The node at the error's path inside {@code node}, or null. */
    private static JsonNode at(JsonNode node, JsonMappingException e) {
        JsonNode n = node;
        for (JsonMappingException.Reference r : e.getPath()) {
            if (n == null) {
                return null;
            }
            n = r.getFieldName() != null ? n.get(r.getFieldName()) : r.getIndex() >= 0 ? n.get(r.getIndex()) : null;
        }
        return n == node ? null : n;
    }

    private static String path(JsonMappingException e, String root) {
        StringBuilder s = new StringBuilder(root == null ? "" : root);
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (s.length() > 0) {
                    s.append('.');
                }
                s.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                s.append('[').append(r.getIndex()).append(']');
            }
        }
        return s.toString();
    }

    private static String describe(Class<?> type) {
        if (type == String.class) {
            return "a string";
        }
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return "an integer";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "true or false";
        }
        if (java.util.List.class.isAssignableFrom(type)) {
            return "an array";
        }
        if (type.isEnum()) {
            java.util.List<String> names = new java.util.ArrayList<>();
            for (java.lang.reflect.Field f : type.getFields()) {
                if (f.isEnumConstant()) {
                    com.fasterxml.jackson.annotation.JsonProperty p =
                            f.getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
                    names.add(p != null ? p.value() : f.getName());
                }
            }
            return "one of " + String.join(", ", names);
        }
        return "an object (" + type.getSimpleName() + ")";
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "invalid";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
