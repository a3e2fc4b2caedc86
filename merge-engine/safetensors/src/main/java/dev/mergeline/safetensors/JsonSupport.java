package dev.mergeline.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Strict, bounded JSON reading for headers and index files, and the JSON writers.
 *
 * <p>Trees are built here rather than by {@code ObjectMapper.readTree} so that a repeated key is
 * reported as such, with the path to it, instead of as an anonymous parse error. Nesting depth,
 * string, name and number lengths are capped by Jackson's {@link StreamReadConstraints}, which
 * also bounds the recursion of the builder.
 */
final class JsonSupport {

    /** Deepest nesting accepted; the formats read here need 3. */
    static final int MAX_NESTING_DEPTH = 8;
    /** Longest string value (metadata values can hold whole configs). */
    static final int MAX_STRING_LENGTH = 16 * 1024 * 1024;
    /** Longest object key (tensor names, metadata keys). */
    static final int MAX_NAME_LENGTH = 64 * 1024;
    /** Longest number literal. */
    static final int MAX_NUMBER_LENGTH = 64;

    static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_NESTING_DEPTH)
                    .maxStringLength(MAX_STRING_LENGTH)
                    .maxNameLength(MAX_NAME_LENGTH)
                    .maxNumberLength(MAX_NUMBER_LENGTH)
                    .build())
            .build();

    /** Escapes non-ASCII characters with lower-case hex escapes, like Python's json module. */
    private static final JsonFactory ASCII_FACTORY = FACTORY.rebuild()
            .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
            .disable(JsonWriteFeature.WRITE_HEX_UPPER_CASE)
            .build();

    /** Writes every character as raw UTF-8, supplementary ones included, like serde_json. */
    private static final JsonFactory RAW_UTF8_FACTORY = FACTORY.rebuild()
            .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8)
            .build();

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private JsonSupport() {
    }

    /** Receives a repeated key: the keys of the enclosing objects (outermost first) and the key itself. */
    @FunctionalInterface
    interface DuplicateHandler {
        SafetensorsException duplicate(List<String> path, String key);
    }

    /** Builds the error for malformed JSON from a description of the problem and the Jackson cause. */
    @FunctionalInterface
    interface SyntaxHandler {
        SafetensorsException malformed(String problem, Throwable cause);
    }

    /** Builds the error for the counted member of the top-level object that passed the limit. */
    @FunctionalInterface
    interface TooManyHandler {
        SafetensorsException tooMany(int max, String key);
    }

    /**
     * Caps the members of the top-level object that {@code counts} selects. The parse stops at the
     * first member past the cap: nothing after it is built or even looked at.
     */
    record MemberLimit(int max, Predicate<String> counts, TooManyHandler tooMany) {
        /** No cap. */
        static final MemberLimit NONE = new MemberLimit(Integer.MAX_VALUE, key -> false, (max, key) -> {
            throw new IllegalStateException("no member limit");
        });
    }

    /** Decodes strict UTF-8 (malformed or unmappable input is an error, never replaced). */
    static String decodeUtf8(byte[] bytes) throws CharacterCodingException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        return decoder.decode(ByteBuffer.wrap(bytes)).toString();
    }

    /**
     * Parses one JSON value followed only by whitespace into a tree, rejecting repeated keys in
     * any object.
     */
    static JsonNode parse(String text, SyntaxHandler syntax, DuplicateHandler duplicates) throws SafetensorsException {
        return parse(text, syntax, duplicates, MemberLimit.NONE);
    }

    /**
     * Like {@link #parse(String, SyntaxHandler, DuplicateHandler)}, refusing a top-level object with
     * more counted members than {@code limit} allows as soon as the count passes it.
     */
    static JsonNode parse(String text, SyntaxHandler syntax, DuplicateHandler duplicates, MemberLimit limit)
            throws SafetensorsException {
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw syntax.malformed("empty document", null);
            }
            JsonNode root = read(p, first, new ArrayList<>(), duplicates, limit);
            JsonToken extra = p.nextToken();
            if (extra != null) {
                throw syntax.malformed("unexpected " + extra + " after the top-level value at "
                        + p.currentLocation().offsetDescription(), null);
            }
            return root;
        } catch (JsonProcessingException e) {
            throw syntax.malformed(e.getOriginalMessage(), e);
        } catch (IllegalArgumentException e) {
            throw syntax.malformed("malformed number: " + e.getMessage(), e);
        } catch (IOException e) {
            // Parsing from a String does no I/O; anything else is a parse failure.
            if (e instanceof SafetensorsException se) {
                throw se;
            }
            throw new UncheckedIOException(e);
        }
    }

    /** @param limit caps the members of this object (the top-level one); nested values get {@link MemberLimit#NONE} */
    private static JsonNode read(JsonParser p, JsonToken t, List<String> path, DuplicateHandler duplicates,
            MemberLimit limit) throws IOException {
        switch (t) {
            case START_OBJECT: {
                ObjectNode obj = NODES.objectNode();
                long counted = 0;
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    String key = p.currentName();
                    if (obj.has(key)) {
                        throw duplicates.duplicate(List.copyOf(path), key);
                    }
                    if (limit.counts().test(key) && ++counted > limit.max()) {
                        throw limit.tooMany().tooMany(limit.max(), key);
                    }
                    path.add(key);
                    obj.set(key, read(p, p.nextToken(), path, duplicates, MemberLimit.NONE));
                    path.remove(path.size() - 1);
                }
                return obj;
            }
            case START_ARRAY: {
                ArrayNode arr = NODES.arrayNode();
                for (JsonToken v = p.nextToken(); v != JsonToken.END_ARRAY; v = p.nextToken()) {
                    arr.add(read(p, v, path, duplicates, MemberLimit.NONE));
                }
                return arr;
            }
            case VALUE_STRING:
                return NODES.textNode(p.getText());
            case VALUE_NUMBER_INT:
                return switch (p.getNumberType()) {
                    case INT, LONG -> NODES.numberNode(p.getLongValue());
                    default -> NODES.numberNode(p.getBigIntegerValue());
                };
            case VALUE_NUMBER_FLOAT:
                return NODES.numberNode(p.getDoubleValue());
            case VALUE_TRUE:
                return NODES.booleanNode(true);
            case VALUE_FALSE:
                return NODES.booleanNode(false);
            case VALUE_NULL:
                return NODES.nullNode();
            default:
                throw new IllegalStateException("unexpected JSON token " + t);
        }
    }

    /** Short description of a node's JSON type, for messages. */
    static String typeOf(JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "nothing";
        }
        if (n.isIntegralNumber()) {
            return "integer " + n.asText();
        }
        if (n.isNumber()) {
            return "number " + n.asText();
        }
        return switch (n.getNodeType()) {
            case OBJECT -> "an object";
            case ARRAY -> "an array";
            case STRING -> "a string";
            case BOOLEAN -> "boolean " + n.asText();
            case NULL -> "null";
            default -> n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** A generator writing compact UTF-8 JSON (non-ASCII characters written raw). */
    static JsonGenerator compactGenerator(java.io.OutputStream out) throws IOException {
        return RAW_UTF8_FACTORY.createGenerator(out);
    }

    /**
     * A generator writing JSON the way Python's {@code json.dumps(obj, indent=2)} does: two-space
     * indentation, {@code "key": value}, {@code {}} for empty objects, non-ASCII escaped.
     */
    static JsonGenerator pythonStyleGenerator(java.io.OutputStream out) throws IOException {
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        Separators separators = Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withObjectEntrySpacing(Separators.Spacing.NONE)
                .withObjectEmptySeparator("")
                .withArrayEmptySeparator("");
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter(separators)
                .withObjectIndenter(indenter)
                .withArrayIndenter(indenter);
        JsonGenerator g = ASCII_FACTORY.createGenerator(out);
        g.setPrettyPrinter(printer);
        return g;
    }
}
