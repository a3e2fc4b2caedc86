package dev.mergeline.safetensors;

import static dev.mergeline.safetensors.SafetensorsException.Reason.ARITHMETIC_OVERFLOW;
import static dev.mergeline.safetensors.SafetensorsException.Reason.DUPLICATE_KEY;
import static dev.mergeline.safetensors.SafetensorsException.Reason.HEADER_TOO_LARGE;
import static dev.mergeline.safetensors.SafetensorsException.Reason.HEADER_TOO_SMALL;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_HEADER_LENGTH;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_INDEX;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_JSON;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_OFFSETS;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_SHAPE;
import static dev.mergeline.safetensors.SafetensorsException.Reason.INVALID_UTF8;
import static dev.mergeline.safetensors.SafetensorsException.Reason.SIZE_MISMATCH;
import static dev.mergeline.safetensors.SafetensorsException.Reason.TOO_MANY_TENSORS;
import static dev.mergeline.safetensors.SafetensorsException.Reason.TRAILING_BYTES;
import static dev.mergeline.safetensors.SafetensorsException.Reason.UNKNOWN_DTYPE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.safetensors.SafetensorsException.Reason;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Valid file, one field corrupted: every failure reason of the header. */
class SafetensorsHeaderTest {

    @TempDir
    Path dir;

    /** A corrupted file, the reason it must fail with, and the tensor the failure must name. */
    record Case(String description, byte[] file, Reason reason, String tensor) {
        @Override
        public String toString() {
            return description;
        }
    }

    private static Case c(String description, byte[] file, Reason reason, String tensor) {
        return new Case(description, file, reason, tensor);
    }

    private static Case c(String description, Fixture f, Reason reason, String tensor) {
        return new Case(description, f.file(), reason, tensor);
    }

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The valid fixture's JSON with one textual replacement. */
    private static byte[] replaced(String target, String replacement) {
        String json = Fixture.valid().json();
        assertTrue(json.contains(target), () -> json + " lacks " + target);
        return Fixture.file(json.replace(target, replacement), 40);
    }

    static Stream<Case> cases() {
        String valid = Fixture.valid().json();
        return Stream.of(
                c("file of 5 bytes", new byte[5], HEADER_TOO_SMALL, null),
                c("empty file", new byte[0], HEADER_TOO_SMALL, null),
                c("header length 0", Fixture.withLength(0, new byte[0], 8), HEADER_TOO_SMALL, null),
                c("header length 2^63", Fixture.withLength(Long.MIN_VALUE, utf8(valid), 40), HEADER_TOO_LARGE, null),
                c("header length 2^64-1", Fixture.withLength(-1L, utf8(valid), 40), HEADER_TOO_LARGE, null),
                c("header length 100_000_001", Fixture.withLength(100_000_001L, utf8(valid), 40), HEADER_TOO_LARGE, null),
                c("header length past EOF", Fixture.withLength(10_000, utf8(valid), 40), INVALID_HEADER_LENGTH, null),
                c("header length one past EOF", Fixture.withLength(utf8(valid).length + 41, utf8(valid), 40),
                        INVALID_HEADER_LENGTH, null),
                c("0xFF in header", Fixture.file(concat(utf8("{\"__metadata__\":{\"x\":\""), bytes(0xFF),
                        utf8("\"}}")), 0), INVALID_UTF8, null),
                c("overlong UTF-8 '/'", Fixture.file(concat(utf8("{\"__metadata__\":{\"x\":\""), bytes(0xC0, 0xAF),
                        utf8("\"}}")), 0), INVALID_UTF8, null),
                c("UTF-8 encoded surrogate", Fixture.file(concat(utf8("{\"__metadata__\":{\"x\":\""), bytes(0xED, 0xA0, 0x80),
                        utf8("\"}}")), 0), INVALID_UTF8, null),
                c("truncated UTF-8 sequence", Fixture.file(concat(utf8("{\"a"), bytes(0xE2, 0x82))  , 0), INVALID_UTF8, null),
                c("unclosed object", Fixture.file(valid.substring(0, valid.length() - 1), 40), INVALID_JSON, null),
                c("array at top level", Fixture.file("[]", 0), INVALID_JSON, null),
                c("leading space", Fixture.file(" {}", 0), INVALID_JSON, null),
                c("garbage after the object", Fixture.file(valid + " x", 40), INVALID_JSON, null),
                c("second object after the first", Fixture.file(valid + "{}", 40), INVALID_JSON, null),
                c("NUL padding", Fixture.file(valid + "\0\0\0", 40), INVALID_JSON, null),
                c("comment", Fixture.file("{/* x */}", 0), INVALID_JSON, null),
                c("single quotes", replaced("\"format\"", "'format'"), INVALID_JSON, null),
                c("10_000 '[' at top level", Fixture.file("[".repeat(10_000), 0), INVALID_JSON, null),
                c("10_000 '[' in metadata", Fixture.file("{\"__metadata__\":" + "[".repeat(10_000), 0), INVALID_JSON, null),
                c("10_000 nested objects", Fixture.file("{\"a\":".repeat(10_000) + "1" + "}".repeat(10_000), 0),
                        INVALID_JSON, null),
                c("9 nested arrays, closed", Fixture.file("{\"__metadata__\":" + "[".repeat(9) + "]".repeat(9) + "}", 0),
                        INVALID_JSON, null),
                c("tensor entry is a number", Fixture.valid().put("b.bias", 5), INVALID_JSON, "b.bias"),
                c("metadata is an array", Fixture.valid().put("__metadata__", List.of("x")), INVALID_JSON, null),
                c("metadata value is a number", Fixture.valid().put("__metadata__", Map.of("x", 1)), INVALID_JSON, null),
                c("missing dtype", Fixture.valid().remove("a.weight", "dtype"), INVALID_JSON, "a.weight"),
                c("missing shape", Fixture.valid().remove("a.weight", "shape"), INVALID_JSON, "a.weight"),
                c("missing data_offsets", Fixture.valid().remove("b.bias", "data_offsets"), INVALID_JSON, "b.bias"),
                c("extra field", Fixture.valid().set("a.weight", "stride", List.of(3, 1)), INVALID_JSON, "a.weight"),
                c("dtype is a number", Fixture.valid().set("a.weight", "dtype", 4), INVALID_JSON, "a.weight"),
                c("shape is a string", Fixture.valid().set("a.weight", "shape", "[2, 3]"), INVALID_JSON, "a.weight"),
                c("data_offsets is an object", Fixture.valid().set("a.weight", "data_offsets", Map.of("begin", 0)),
                        INVALID_JSON, "a.weight"),
                c("data_offsets holds a string", Fixture.valid().set("a.weight", "data_offsets", List.of("0", 24)),
                        INVALID_JSON, "a.weight"),
                c("duplicate tensor", Fixture.file(valid.replace("}}", "},\"b.bias\":{\"dtype\":\"F32\",\"shape\":[],"
                        + "\"data_offsets\":[40,44]}}"), 44), DUPLICATE_KEY, "b.bias"),
                c("duplicate dtype field", replaced("\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"dtype\":\"F32\""),
                        DUPLICATE_KEY, "a.weight"),
                c("duplicate metadata key", replaced("{\"format\":\"pt\"}", "{\"format\":\"pt\",\"format\":\"np\"}"),
                        DUPLICATE_KEY, null),
                c("duplicate __metadata__", replaced("}}", "},\"__metadata__\":{}}"), DUPLICATE_KEY, null),
                c("overlapping offsets", Fixture.valid().set("b.bias", "data_offsets", List.of(20, 28))
                        .set("c.step", "data_offsets", List.of(28, 36)), INVALID_OFFSETS, "b.bias"),
                c("gap between tensors", Fixture.valid().set("b.bias", "data_offsets", List.of(28, 36))
                        .set("c.step", "data_offsets", List.of(36, 44)), INVALID_OFFSETS, "b.bias"),
                c("first tensor not at 0", Fixture.valid().set("a.weight", "data_offsets", List.of(4, 28))
                        .set("b.bias", "data_offsets", List.of(28, 36)).set("c.step", "data_offsets", List.of(36, 44)),
                        INVALID_OFFSETS, "a.weight"),
                c("two tensors at the same offsets", Fixture.valid().set("c.step", "dtype", "F64")
                        .set("c.step", "data_offsets", List.of(24, 32)), INVALID_OFFSETS, "c.step"),
                c("end before begin", Fixture.valid().set("c.step", "data_offsets", List.of(40, 32)), INVALID_OFFSETS,
                        "c.step"),
                c("negative offset", Fixture.valid().set("a.weight", "data_offsets", List.of(-24, 0)), INVALID_OFFSETS,
                        "a.weight"),
                c("offset above 2^63-1", Fixture.file(valid.replace("[32,40]", "[32,18446744073709551616]"), 40),
                        INVALID_OFFSETS, "c.step"),
                c("three offsets", Fixture.valid().set("a.weight", "data_offsets", List.of(0, 12, 24)), INVALID_OFFSETS,
                        "a.weight"),
                c("tensor past EOF", Fixture.file(Fixture.valid().json(), 39), INVALID_OFFSETS, "c.step"),
                c("tensor far out of range", Fixture.file(Fixture.valid().set("c.step", "shape", List.of(1L << 40))
                        .set("c.step", "data_offsets", List.of(32L, 32L + (8L << 40))).json(), 40), INVALID_OFFSETS, "c.step"),
                c("F32 [2, 3] in 20 bytes", Fixture.valid().set("a.weight", "data_offsets", List.of(0, 20)), SIZE_MISMATCH,
                        "a.weight"),
                c("BF16 read as F32", Fixture.valid().set("b.bias", "dtype", "F32"), SIZE_MISMATCH, "b.bias"),
                c("scalar with 0 bytes", Fixture.valid().set("c.step", "data_offsets", List.of(32, 32)), SIZE_MISMATCH,
                        "c.step"),
                c("one trailing byte", Fixture.file(Fixture.valid().json(), 41), TRAILING_BYTES, null),
                c("data without tensors", Fixture.file("{}", 8), TRAILING_BYTES, null),
                c("dtype F31", Fixture.valid().set("a.weight", "dtype", "F31"), UNKNOWN_DTYPE, "a.weight"),
                c("dtype in lower case", Fixture.valid().set("a.weight", "dtype", "f32"), UNKNOWN_DTYPE, "a.weight"),
                c("negative dimension", Fixture.valid().set("b.bias", "shape", List.of(-4)), INVALID_SHAPE, "b.bias"),
                c("fractional dimension", Fixture.valid().set("b.bias", "shape", List.of(2.5)), INVALID_SHAPE, "b.bias"),
                c("dimension 4.0", Fixture.valid().set("b.bias", "shape", List.of(4.0)), INVALID_SHAPE, "b.bias"),
                c("string dimension", Fixture.valid().set("b.bias", "shape", List.of("4")), INVALID_SHAPE, "b.bias"),
                c("nested dimension", Fixture.valid().set("b.bias", "shape", List.of(List.of(4))), INVALID_SHAPE, "b.bias"),
                c("null dimension", Fixture.valid().set("b.bias", "shape", java.util.Arrays.asList((Object) null)),
                        INVALID_SHAPE, "b.bias"),
                c("shape [2^40, 2^40]", Fixture.valid().set("a.weight", "shape", List.of(1L << 40, 1L << 40)),
                        ARITHMETIC_OVERFLOW, "a.weight"),
                c("shape [2^31, 2^31] as F32", Fixture.valid().set("a.weight", "shape", List.of(1L << 31, 1L << 31)),
                        ARITHMETIC_OVERFLOW, "a.weight"),
                c("dimension 2^64", Fixture.file(valid.replace("[2,3]", "[18446744073709551616]"), 40),
                        ARITHMETIC_OVERFLOW, "a.weight"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void corruptFileFailsWithItsReason(Case c) {
        Path file = Fixture.write(dir, "model.safetensors", c.file());
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsHeader.read(file),
                c.description());
        assertEquals(c.reason(), e.reason(), () -> c.description() + ": " + e.getMessage());
        assertEquals(Optional.ofNullable(c.tensor()), e.tensor(), () -> c.description() + ": " + e.getMessage());
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
        SafetensorsException viaFile = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file));
        assertEquals(c.reason(), viaFile.reason());
    }

    @Test
    void everyHeaderReasonHasACase() {
        Set<Reason> covered = cases().map(Case::reason).collect(Collectors.toCollection(() -> EnumSet.noneOf(Reason.class)));
        covered.add(INVALID_INDEX); // covered by CheckpointTest
        covered.add(TOO_MANY_TENSORS); // needs a tensor limit: the tests below
        assertEquals(EnumSet.allOf(Reason.class), covered);
    }

    @Test
    void tensorLimitCountsTensorsNotMetadata() throws IOException {
        Path file = Fixture.write(dir, "three.safetensors", Fixture.valid().file()); // 3 tensors + __metadata__
        HeaderLimits three = new HeaderLimits(SafetensorsHeader.MAX_HEADER_BYTES, 3);
        assertEquals(3, SafetensorsHeader.read(file, three).tensors().size());
        try (SafetensorsFile f = SafetensorsFile.open(file, three)) {
            assertEquals(3, f.header().tensors().size());
        }

        HeaderLimits two = new HeaderLimits(SafetensorsHeader.MAX_HEADER_BYTES, 2);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsHeader.read(file, two));
        assertEquals(TOO_MANY_TENSORS, e.reason());
        assertEquals("header lists more than the limit of 2 tensors; parsing stopped at tensor number 3, 'c.step'",
                e.getMessage());
        assertEquals(Optional.of("c.step"), e.tensor());
        assertEquals(TOO_MANY_TENSORS, assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file, two))
                .reason());
        Path checkpoint = Files.createDirectories(dir.resolve("checkpoint"));
        Fixture.write(checkpoint, "model.safetensors", Fixture.valid().file());
        assertEquals(TOO_MANY_TENSORS, assertThrows(SafetensorsException.class, () -> Checkpoint.open(checkpoint, two))
                .reason());
    }

    @Test
    void nothingPastTheTensorLimitIsBuiltOrLookedAt() {
        // After the tensor past the limit: a repeated tensor (DUPLICATE_KEY, had the parse built it),
        // then JSON broken off.
        String json = Fixture.valid().json().replace("}}", "},\"d\":0,\"b.bias\":{},\"e\":[1,{");
        SafetensorsException e = assertThrows(SafetensorsException.class,
                () -> SafetensorsHeader.parse(utf8(json), 8 + json.length() + 40, 3));
        assertEquals(TOO_MANY_TENSORS, e.reason());
        assertEquals(Optional.of("d"), e.tensor());
        // Without a limit the same header fails on the repeated key.
        assertEquals(DUPLICATE_KEY, assertThrows(SafetensorsException.class,
                () -> SafetensorsHeader.parse(utf8(json), 8 + json.length() + 40)).reason());
    }

    @Test
    void headerWithMillionsOfEntriesIsRefusedAtTheLimit() {
        int entries = 3_000_000;
        int limit = 65_536;
        StringBuilder json = new StringBuilder(entries * 12).append('{');
        for (int i = 0; i < entries; i++) {
            json.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":0");
        }
        byte[] header = utf8(json.append('}').toString());
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        SafetensorsException e = assertThrows(SafetensorsException.class,
                () -> SafetensorsHeader.parse(header, 8L + header.length, limit));
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertEquals(TOO_MANY_TENSORS, e.reason());
        assertEquals(Optional.of("t65536"), e.tensor());
        assertTrue(e.getMessage().contains("more than the limit of 65536 tensors"), e.getMessage());
        // Decoding the header to text costs about 3 bytes per header byte; what is built after that
        // stops at the limit (65536 of 3 million entries).
        assertTrue(allocated < 4L * header.length, () -> allocated + " bytes allocated for a header of "
                + header.length + " bytes");
    }

    @Test
    void validFixtureParses() throws IOException {
        SafetensorsHeader h = SafetensorsHeader.read(Fixture.write(dir, "ok.safetensors", Fixture.valid().file()));
        String json = Fixture.valid().json();
        assertEquals(json.length(), h.headerLength());
        assertEquals(8 + json.length(), h.dataStart());
        assertEquals(40, h.dataLength());
        assertEquals(8 + json.length() + 40, h.fileSize());
        assertEquals(Map.of("format", "pt"), h.metadata());
        assertEquals(List.of("a.weight", "b.bias", "c.step"), h.tensors().stream().map(TensorInfo::name).toList());
        TensorInfo a = h.tensor("a.weight").orElseThrow();
        assertEquals(new TensorInfo("a.weight", DType.F32, List.of(2L, 3L), 0, 24), a);
        assertEquals(6, a.elementCount());
        assertEquals(2, a.rank());
        assertEquals(24, a.dataEnd());
        TensorInfo c = h.tensor("c.step").orElseThrow();
        assertEquals(0, c.rank());
        assertEquals(1, c.elementCount());
        assertEquals(Optional.empty(), h.tensor("nope"));
    }

    @Test
    void tensorsAreSortedByOffsetWhateverTheJsonOrder() throws IOException {
        Fixture f = Fixture.empty()
                .tensor("z", "U8", List.of(2), 0, 2)
                .tensor("a", "U8", List.of(3), 5, 8)
                .tensor("m", "U8", List.of(3), 2, 5);
        SafetensorsHeader h = SafetensorsHeader.parse(f.json().getBytes(StandardCharsets.UTF_8), 8 + f.json().length() + 8);
        assertEquals(List.of("z", "m", "a"), h.tensors().stream().map(TensorInfo::name).toList());
        assertEquals(Map.of(), h.metadata());
    }

    @Test
    void acceptsSpacePaddingWhitespaceAndZeroSizedTensors() throws IOException {
        String json = Fixture.valid().json().replace("}}", "},\"empty\":{\"dtype\":\"F16\",\"shape\":[0,7],"
                + "\"data_offsets\":[40,40]}}") + "   \n\t  ";
        SafetensorsHeader h = SafetensorsHeader.parse(json.getBytes(StandardCharsets.UTF_8), 8 + json.length() + 40);
        assertEquals(0, h.tensor("empty").orElseThrow().elementCount());
        assertEquals(json.length(), h.headerLength());
    }

    @Test
    void nullMetadataAndEmptyHeaderAreAccepted() throws IOException {
        assertEquals(Map.of(), SafetensorsHeader.parse(utf8("{\"__metadata__\":null}"), 8 + 21).metadata());
        SafetensorsHeader empty = SafetensorsHeader.parse(utf8("{}"), 10);
        assertEquals(List.of(), empty.tensors());
        assertEquals(10, empty.fileSize());
    }

    @Test
    void keepsMetadataOrderAndNonAsciiText() throws IOException {
        String json = "{\"__metadata__\":{\"z\":\"1\",\"a\":\"ünï ✓ 😀\"}}";
        byte[] b = utf8(json);
        SafetensorsHeader h = SafetensorsHeader.parse(b, 8 + b.length);
        assertEquals(List.of("z", "a"), List.copyOf(h.metadata().keySet()));
        assertEquals("ünï ✓ 😀", h.metadata().get("a"));
    }

    @Test
    void resultIsUnmodifiable() throws IOException {
        SafetensorsHeader h = SafetensorsHeader.read(Fixture.write(dir, "ok.safetensors", Fixture.valid().file()));
        assertThrows(UnsupportedOperationException.class, () -> h.metadata().put("x", "y"));
        assertThrows(UnsupportedOperationException.class, () -> h.tensors().remove(0));
        assertThrows(UnsupportedOperationException.class, () -> h.tensors().get(0).shape().set(0, 5L));
    }

    @Test
    void parseHeaderLengthStatesValueAndLimit() {
        SafetensorsException tooLarge = assertThrows(SafetensorsException.class,
                () -> SafetensorsHeader.parseHeaderLength(prefix(100_000_001L), 1L << 40, SafetensorsHeader.MAX_HEADER_BYTES));
        assertEquals(HEADER_TOO_LARGE, tooLarge.reason());
        assertEquals("header length 100000001 exceeds the limit of 100000000 bytes", tooLarge.getMessage());

        SafetensorsException huge = assertThrows(SafetensorsException.class,
                () -> SafetensorsHeader.parseHeaderLength(prefix(Long.MIN_VALUE), Long.MAX_VALUE, 1000));
        assertEquals(HEADER_TOO_LARGE, huge.reason());
        assertTrue(huge.getMessage().contains("9223372036854775808"), huge.getMessage());

        SafetensorsException shortBuffer = assertThrows(SafetensorsException.class,
                () -> SafetensorsHeader.parseHeaderLength(ByteBuffer.allocate(7), 100, 1000));
        assertEquals(HEADER_TOO_SMALL, shortBuffer.reason());

        SafetensorsException shortFile = assertThrows(SafetensorsException.class,
                () -> SafetensorsHeader.parseHeaderLength(prefix(2), 5, 1000));
        assertEquals(HEADER_TOO_SMALL, shortFile.reason());

        SafetensorsException pastEof = assertThrows(SafetensorsException.class,
                () -> SafetensorsHeader.parseHeaderLength(prefix(93), 100, 1000));
        assertEquals(INVALID_HEADER_LENGTH, pastEof.reason());
        assertTrue(pastEof.getMessage().contains("93") && pastEof.getMessage().contains("100"), pastEof.getMessage());
    }

    @Test
    void parseHeaderLengthReadsLittleEndianWithoutMovingTheBuffer() throws SafetensorsException {
        ByteBuffer b = prefix(92);
        assertEquals(92, SafetensorsHeader.parseHeaderLength(b, 100, 1000));
        assertEquals(0, b.position());
        assertEquals(1000, SafetensorsHeader.parseHeaderLength(prefix(1000), 1008, 1000));
    }

    @Test
    void sizeMismatchMessageStatesNeedAndGive() {
        Path file = Fixture.write(dir, "m.safetensors", Fixture.valid().set("a.weight", "data_offsets", List.of(0, 20)).file());
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsHeader.read(file));
        assertEquals("tensor 'a.weight' (F32 [2, 3]) needs 24 bytes but data_offsets [0, 20] give 20", e.getMessage());
    }

    @Test
    void invalidUtf8InParseToo() {
        byte[] bad = concat(utf8("{\"a"), bytes(0xFF), utf8("\":1}"));
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsHeader.parse(bad, 100));
        assertEquals(INVALID_UTF8, e.reason());
    }

    @Test
    void parseRejectsFileShorterThanHeader() {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsHeader.parse(utf8("{}"), 9));
        assertEquals(INVALID_HEADER_LENGTH, e.reason());
    }

    private static ByteBuffer prefix(long n) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
    }
}
