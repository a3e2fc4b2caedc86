package dev.mergeline.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AdapterObjectKeyTest {

    static Stream<Arguments> adapterFiles() {
        return Stream.of(
                Arguments.of("adapters/a/adapter_config.json", "a", AdapterFile.ADAPTER_CONFIG),
                Arguments.of("adapters/llama32-1b-support-lora/adapter_model.safetensors", "llama32-1b-support-lora",
                        AdapterFile.ADAPTER_WEIGHTS),
                Arguments.of("adapters/A.b_c-9/adapter_model.bin", "A.b_c-9", AdapterFile.PICKLE_WEIGHTS),
                Arguments.of("adapters/x/merge.json", "x", AdapterFile.MERGE_OVERRIDES),
                Arguments.of("adapters/x/tokenizer.json", "x", AdapterFile.OTHER),
                Arguments.of("adapters/x/README.md", "x", AdapterFile.OTHER),
                Arguments.of("adapters/x/Adapter_Config.json", "x", AdapterFile.OTHER),
                Arguments.of("adapters/x/notes v2+final.md", "x", AdapterFile.OTHER),
                Arguments.of("adapters/x/...", "x", AdapterFile.OTHER),
                Arguments.of("adapters/x/.hidden", "x", AdapterFile.OTHER),
                Arguments.of("adapters/..a/adapter_config.json", "..a", AdapterFile.ADAPTER_CONFIG),
                Arguments.of("adapters/" + "i".repeat(128) + "/adapter_config.json", "i".repeat(128),
                        AdapterFile.ADAPTER_CONFIG));
    }

    @ParameterizedTest
    @MethodSource("adapterFiles")
    void recognizesAdapterFiles(String key, String id, AdapterFile file) {
        AdapterObjectKey k = AdapterObjectKey.parse("mergeline", key).orElseThrow();
        assertEquals(id, k.location().id());
        assertEquals("mergeline", k.location().bucket());
        assertEquals("adapters/" + id + "/", k.location().prefix());
        assertEquals(file, k.file());
        assertEquals(key, k.key());
    }

    static Stream<String> hostileKeys() {
        return Stream.of(
                "adapters/../base-models/x/config.json",
                "/adapters/a/b",
                "adapters/a/../b/c",
                "adapters/a\u0000b/c",
                "base-models/x/adapter_config.json",
                "adapters//adapter_config.json",
                "adapters/./adapter_config.json",
                "adapters/../adapter_config.json",
                "adapters/a/..",
                "adapters/a/.",
                "adapters/a/",
                "adapters/a",
                "adapters/",
                "adapters",
                "",
                "adapters/a/b/c",
                "adapters/a/sub/adapter_config.json",
                "adapters/a//adapter_config.json",
                "adapters/a\\b/c",
                "adapters/a/b\\c",
                "adapters\\a\\adapter_config.json",
                "Adapters/a/adapter_config.json",
                " adapters/a/adapter_config.json",
                "./adapters/a/adapter_config.json",
                "adapters/a b/adapter_config.json",
                "adapters/a+b/adapter_config.json",
                "adapters/a%2Fb/adapter_config.json",
                "adapters/é/adapter_config.json",
                "adapters/" + "i".repeat(129) + "/adapter_config.json",
                "adapters/a/adapter_config.json\u0000",
                "adapters/a/adapter_config.json\nINFO forged log line",
                "adapters/a/x\u007f",
                "adapters/a/x\u0085",
                "adapters/a/evil\u202Enosj.exe",
                "adapters/a/zero\u200Bwidth",
                "adapters/a/line\u2028sep",
                "adapters/a/lone\uD800surrogate",
                "adapters/a/" + "f".repeat(256),
                // traversal, absolute and foreign forms
                "adapters/../base-models/x",
                "adapters/../../etc/passwd",
                "adapters/a/../../base-models/x/config.json",
                "base-models/x/../../adapters/a/adapter_config.json",
                "/etc/passwd",
                "/adapters/../base-models/x",
                "//adapters/a/adapter_config.json",
                "C:\\adapters\\a\\adapter_config.json",
                "file:///adapters/a/adapter_config.json",
                "s3://mergeline/adapters/a/adapter_config.json",
                // keys outside adapters/ and prefix look-alikes
                "merged/a/0123abcd/adapter_config.json",
                "adapters-evil/a/adapter_config.json",
                "adaptersa/adapter_config.json",
                "ADAPTERS/a/adapter_config.json",
                // look-alike dots and slashes (fullwidth, division slash, one-dot leader)
                "adapters/\uFF0E\uFF0E/base-models/x",
                "adapters/a\uFF0Fb/adapter_config.json",
                "adapters/a\u2215b/adapter_config.json",
                "adapters/\u2024\u2024/adapter_config.json");
    }

    /** C0 and C1 controls, DEL, and the invisible or reordering characters that disguise an id in a log line. */
    static Stream<String> controlCharacters() {
        Stream.Builder<String> b = Stream.builder();
        for (char c = 0; c < 0x20; c++) {
            b.add(String.valueOf(c));
        }
        for (char c = 0x7f; c <= 0x9f; c++) {
            b.add(String.valueOf(c));
        }
        for (char c : new char[] {'\u00ad', '\u200b', '\u200e', '\u2028', '\u2029', '\u202e', '\u2066', '\ufeff'}) {
            b.add(String.valueOf(c));
        }
        return b.build();
    }

    @ParameterizedTest
    @MethodSource("controlCharacters")
    void adapterIdsWithControlCharactersAreNeverAdapterKeys(String c) {
        String label = String.format("U+%04X", (int) c.charAt(0));
        for (String id : new String[] {"a" + c + "b", c + "a", "a" + c, c}) {
            assertFalse(AdapterLocation.isValidId(id), label);
            assertTrue(AdapterObjectKey.parse("mergeline", "adapters/" + id + "/adapter_config.json").isEmpty(), label);
            assertThrows(EventFormatException.class, () -> new AdapterLocation("mergeline", id), label);
            assertThrows(EventFormatException.class,
                    () -> AdapterAnnouncement.parseUri("s3://mergeline/adapters/" + id + "/"), label);
        }
        assertTrue(AdapterObjectKey.parse("mergeline", "adapters/a/adapter" + c + "config.json").isEmpty(), label);
    }

    @ParameterizedTest
    @MethodSource("hostileKeys")
    void rejectsHostileKeys(String key) {
        assertTrue(AdapterObjectKey.parse("mergeline", key).isEmpty(), key);
    }

    @Test
    void rejectsNullsAndBadBuckets() {
        assertTrue(AdapterObjectKey.parse("mergeline", null).isEmpty());
        assertTrue(AdapterObjectKey.parse(null, "adapters/a/adapter_config.json").isEmpty());
        assertTrue(AdapterObjectKey.parse("Bad_Bucket", "adapters/a/adapter_config.json").isEmpty());
        assertTrue(AdapterObjectKey.parse("a/b", "adapters/a/adapter_config.json").isEmpty());
    }

    @Test
    void acceptsPairedSurrogatesInFileNames() {
        assertEquals(AdapterFile.OTHER, AdapterObjectKey.parse("mergeline", "adapters/a/emoji-\uD83D\uDE00.txt")
                .orElseThrow().file());
    }

    @Test
    void locationForms() {
        AdapterLocation l = new AdapterLocation("mergeline", "my-adapter");
        assertEquals("adapters/my-adapter/", l.prefix());
        assertEquals("adapters/my-adapter/adapter_config.json", l.key(AdapterFile.ADAPTER_CONFIG.fileName()));
        assertEquals("s3://mergeline/adapters/my-adapter/", l.uri());
        assertEquals(l, AdapterAnnouncement.parseUri(l.uri()));
        assertThrows(EventFormatException.class, () -> new AdapterLocation("mergeline", ".."));
        assertThrows(EventFormatException.class, () -> new AdapterLocation("mergeline", "a/b"));
        assertThrows(EventFormatException.class, () -> new AdapterLocation("UPPER", "a"));
        assertFalse(AdapterLocation.isValidId(""));
        assertFalse(AdapterLocation.isValidId("."));
        assertTrue(AdapterLocation.isValidId("..."));
    }

    @Test
    void baseNames() {
        assertEquals("base-models/meta-llama/Llama-3.1-8B/", BaseRef.prefixFor("meta-llama/Llama-3.1-8B"));
        assertEquals("base-models/tiny-llama/", BaseRef.prefixFor("tiny-llama"));
        for (String bad : new String[] {"", "/a", "a/", "a//b", "../a", "a/../b", "a/./b", "a\\b", "a b", "a\u0000"}) {
            assertFalse(BaseRef.isValidName(bad), bad);
        }
    }

    @Test
    void adapterRefPrefixMustMatchId() {
        assertThrows(EventFormatException.class,
                () -> new AdapterRef("mergeline", "adapters/b/", "a", null, null, null, null));
        assertEquals("adapters/a/", AdapterRef.of(new AdapterLocation("mergeline", "a")).prefix());
    }
}
