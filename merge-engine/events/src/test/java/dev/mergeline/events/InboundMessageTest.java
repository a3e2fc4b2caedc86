package dev.mergeline.events;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class InboundMessageTest {
    private static final String ADAPTER = "adapters/llama32-1b-support-lora/";

    private static ObjectCreated single(String fixture) {
        InboundMessage m = InboundMessage.parse(EventFixtures.load(fixture));
        List<ObjectCreated> records = assertInstanceOf(S3EventNotification.class, m).records();
        assertEquals(1, records.size());
        return records.get(0);
    }

    @Test
    void singlePut() {
        ObjectCreated o = single(EventFixtures.S3_PUT);
        assertEquals(new ObjectCreated("mergeline", ADAPTER + "adapter_config.json", 912,
                "88922bda2d21acd4faa9d6d55a0014cf", "0067D3F5FB2E6A1B3C", "ObjectCreated:Put"), o);
        AdapterObjectKey k = o.adapterKey().orElseThrow();
        assertEquals(new AdapterLocation("mergeline", EventFixtures.ADAPTER_ID), k.location());
        assertEquals(AdapterFile.ADAPTER_CONFIG, k.file());
        assertEquals(o.key(), k.key());
    }

    @Test
    void completeMultipartUpload() {
        ObjectCreated o = single(EventFixtures.S3_MULTIPART_UPLOAD);
        assertEquals("ObjectCreated:CompleteMultipartUpload", o.eventName());
        assertEquals("3831988b807bd021f7a7d38f3e601d03-6", o.eTag());
        assertEquals(45109512, o.size());
        assertEquals(AdapterFile.ADAPTER_WEIGHTS, o.adapterKey().orElseThrow().file());
    }

    @Test
    void copyObject() {
        ObjectCreated o = single(EventFixtures.S3_COPY);
        assertEquals("ObjectCreated:Copy", o.eventName());
        assertEquals(AdapterFile.MERGE_OVERRIDES, o.adapterKey().orElseThrow().file());
        assertTrue(o.adapterKey().orElseThrow().file().triggersValidation());
    }

    @Test
    void keyWithSpaceAndPlusIsDecoded() {
        assertTrue(EventFixtures.text(EventFixtures.S3_KEY_SPACE_PLUS).contains("notes+v2%2Bfinal.md"));
        ObjectCreated o = single(EventFixtures.S3_KEY_SPACE_PLUS);
        assertEquals(ADAPTER + "notes v2+final.md", o.key());
        AdapterObjectKey k = o.adapterKey().orElseThrow();
        assertEquals("notes v2+final.md", k.fileName());
        assertEquals(AdapterFile.OTHER, k.file());
        assertTrue(!k.file().triggersValidation());
    }

    @Test
    void testEventHasNoRecords() {
        InboundMessage m = InboundMessage.parse(EventFixtures.load(EventFixtures.S3_TEST_EVENT));
        assertEquals(List.of(), assertInstanceOf(S3EventNotification.class, m).records());
    }

    @Test
    void announcement() {
        InboundMessage m = InboundMessage.parse(EventFixtures.load(EventFixtures.ADAPTER_ANNOUNCEMENT));
        AdapterAnnouncement a = assertInstanceOf(AdapterAnnouncement.class, m);
        assertEquals(new AdapterLocation("mergeline", EventFixtures.ADAPTER_ID), a.location());
        assertEquals(EventFixtures.BASE_NAME, a.base());
        assertEquals("s3://mergeline/adapters/llama32-1b-support-lora/", a.location().uri());
    }

    @Test
    void announcementWithoutBaseOrTrailingSlash() {
        AdapterAnnouncement a = (AdapterAnnouncement) InboundMessage.parse(
                "{\"adapter\":\"s3://my.bucket-1/adapters/A_b.c-9\",\"future\":1}".getBytes(StandardCharsets.UTF_8));
        assertEquals(new AdapterLocation("my.bucket-1", "A_b.c-9"), a.location());
        assertNull(a.base());
    }

    @Test
    void announcementToJsonRoundTrips() throws Exception {
        AdapterAnnouncement a = AdapterAnnouncement.parse(EventFixtures.load(EventFixtures.ADAPTER_ANNOUNCEMENT));
        ObjectMapper json = new ObjectMapper();
        assertEquals(json.readTree(EventFixtures.load(EventFixtures.ADAPTER_ANNOUNCEMENT)), json.readTree(a.toJson()));
        assertEquals(a, AdapterAnnouncement.parse(a.toJson()));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"adapter\":\"s3://mergeline/adapters/../base-models/x/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a/b/\"}",
        "{\"adapter\":\"s3://mergeline/adapters//\"}",
        "{\"adapter\":\"s3://mergeline/adapters/\"}",
        "{\"adapter\":\"s3://mergeline/base-models/x/\"}",
        "{\"adapter\":\"s3://Bad_Bucket/adapters/a/\"}",
        "{\"adapter\":\"s3:///adapters/a/\"}",
        "{\"adapter\":\"https://mergeline.s3.amazonaws.com/adapters/a/\"}",
        "{\"adapter\":\"adapters/a/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a%2F..%2Fb/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a\\u0000b/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a\\tb/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a\\u001b[31m/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a\\u202eb/\"}",
        "{\"adapter\":\"s3://mergeline//adapters/a/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a/../../base-models/x/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/%2e%2e/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a\\\\b/\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a/\",\"base\":\"x/../../adapters/a\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a/\",\"base\":\"meta-llama/Llama\\nINFO forged\"}",
        "{\"adapter\":42}",
        "{\"adapter\":null}",
        "{\"adapter\":\"s3://mergeline/adapters/a/\",\"base\":\"../secrets\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a/\",\"base\":\"meta-llama//Llama\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a/\",\"base\":\"/abs\"}",
        "{\"adapter\":\"s3://mergeline/adapters/a/\",\"base\":7}"
    })
    void badAnnouncementsAreRejected(String json) {
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> InboundMessage.parse(json.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.field().equals("adapter") || e.field().equals("base"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "not json", "[]", "{}", "{\"Records\":{}}", "{\"Event\":\"s3:Other\"}", "null",
        "{\"specversion\":\"1.0\",\"type\":\"dev.mergeline.merge.requested\"}"})
    void malformedMessagesAreRejected(String json) {
        assertThrows(EventFormatException.class, () -> InboundMessage.parse(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void nonCreatedRecordsAreDropped() {
        String json = "{\"Records\":["
                + record("ObjectRemoved:Delete", "adapters/a/adapter_config.json", null)
                + "," + record("ObjectCreated:Post", "adapters/a/adapter_model.safetensors", "12")
                + "]}";
        List<ObjectCreated> records = S3EventNotification.parse(json.getBytes(StandardCharsets.UTF_8)).records();
        assertEquals(1, records.size());
        assertEquals("adapters/a/adapter_model.safetensors", records.get(0).key());
    }

    @Test
    void missingFieldsAreNamed() {
        String noKey = "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
                + "\"s3\":{\"bucket\":{\"name\":\"mergeline\"},\"object\":{\"size\":3}}}]}";
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> InboundMessage.parse(noKey.getBytes(StandardCharsets.UTF_8)));
        assertEquals("Records[0].s3.object.key", e.field());

        String noSize = "{\"Records\":[" + record("ObjectCreated:Put", "adapters/a/b", null) + "]}";
        e = assertThrows(EventFormatException.class, () -> InboundMessage.parse(noSize.getBytes(StandardCharsets.UTF_8)));
        assertEquals("Records[0].s3.object.size", e.field());

        String badSource = "{\"Records\":[{\"eventSource\":\"aws:sqs\",\"eventName\":\"ObjectCreated:Put\"}]}";
        e = assertThrows(EventFormatException.class,
                () -> InboundMessage.parse(badSource.getBytes(StandardCharsets.UTF_8)));
        assertEquals("Records[0].eventSource", e.field());
        assertEquals("aws:sqs", e.value());
    }

    @Test
    void quotedEtagsAreNormalized() {
        String json = "{\"Records\":[" + record("ObjectCreated:Put", "adapters/a/b", "5").replace("\"eTag\":\"e\"",
                "\"eTag\":\"\\\"0123abcd\\\"\"") + "]}";
        assertEquals("0123abcd", S3EventNotification.parse(json.getBytes(StandardCharsets.UTF_8)).records().get(0).eTag());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "adapters/a/b+c.json|adapters/a/b c.json",
        "adapters/a/b%2Bc.json|adapters/a/b+c.json",
        "adapters/a/b%20c.json|adapters/a/b c.json",
        "adapters/a/%C3%A9t%C3%A9.txt|adapters/a/été.txt",
        "adapters/a/100%25.txt|adapters/a/100%.txt",
        "adapters/a/x%2Fy|adapters/a/x/y",
        "adapters/a/plain_name.json|adapters/a/plain_name.json",
        "adapters/a/%2B%2B+%2B|adapters/a/++ +"
    })
    void keysAreFormUrlDecoded(String raw, String decoded) {
        assertEquals(decoded, S3EventNotification.decodeKey(raw));
        String json = "{\"Records\":[" + record("ObjectCreated:Put", raw, "1") + "]}";
        assertEquals(decoded, S3EventNotification.parse(json.getBytes(StandardCharsets.UTF_8)).records().get(0).key());
    }

    @ParameterizedTest
    @ValueSource(strings = {"adapters/a/%zz", "adapters/a/%", "adapters/a/%2"})
    void invalidPercentEncodingIsRejected(String raw) {
        String json = "{\"Records\":[" + record("ObjectCreated:Put", raw, "1") + "]}";
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> S3EventNotification.parse(json.getBytes(StandardCharsets.UTF_8)));
        assertEquals("Records[0].s3.object.key", e.field());
        assertEquals(raw, e.value());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "adapters/%2E%2E/base-models/x/config.json",
        "adapters/a%2F..%2Fb/adapter_config.json",
        "adapters/a/%2E%2E",
        "%2Fadapters/a/adapter_config.json",
        "adapters/a%00b/adapter_config.json",
        "adapters/a%5Cb/adapter_config.json",
        "adapters/my+adapter/adapter_config.json",
        "adapters/%2e%2e/base-models/x/config.json",
        "adapters%2F..%2Fbase-models%2Fx%2Fconfig.json",
        "adapters/..%2Fbase-models/x",
        "adapters/a/..%2F..%2Fbase-models%2Fx%2Fconfig.json",
        "adapters/%252E%252E/base-models/x",
        "adapters/%C0%AE%C0%AE/base-models/x",
        "%2Fetc%2Fpasswd",
        "adapters/a%5C..%5C..%5Cbase-models/config.json",
        "+adapters/a/adapter_config.json",
        "adapters/a%09b/adapter_config.json",
        "adapters/a%0D%0Ab/adapter_config.json",
        "adapters/%1B%5B31mred/adapter_config.json",
        "adapters/a%7Fb/adapter_config.json",
        "adapters/a%C2%85b/adapter_config.json",
        "adapters/a%E2%80%AEb/adapter_config.json",
        "adapters/a/adapter_config.json%00.txt",
        "adapters/a/%0Aadapter_config.json"
    })
    void encodedHostileKeysAreNotAdapterFiles(String raw) {
        String json = "{\"Records\":[" + record("ObjectCreated:Put", raw, "1") + "]}";
        ObjectCreated o = S3EventNotification.parse(json.getBytes(StandardCharsets.UTF_8)).records().get(0);
        assertTrue(o.adapterKey().isEmpty(), o.key());
    }

    @Test
    void inboundFixturesAllParse() {
        for (String f : EventFixtures.INBOUND) {
            InboundMessage.parse(EventFixtures.load(f));
        }
        assertArrayEquals(EventFixtures.load(EventFixtures.S3_PUT), EventFixtures.load(EventFixtures.S3_PUT));
    }

    private static String record(String eventName, String key, String size) {
        return "{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"eventName\":\"" + eventName + "\","
                + "\"s3\":{\"bucket\":{\"name\":\"mergeline\",\"arn\":\"arn:aws:s3:::mergeline\"},"
                + "\"object\":{\"key\":\"" + key + "\"" + (size == null ? "" : ",\"size\":" + size)
                + ",\"eTag\":\"e\",\"sequencer\":\"00\"}}}";
    }
}
