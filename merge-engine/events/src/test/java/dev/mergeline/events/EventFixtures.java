package dev.mergeline.events;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The wire-format fixtures in {@code src/test/resources/dev/mergeline/events/fixtures/}, shipped in
 * this module's test-jar for producers' and consumers' tests:
 * <pre>{@code
 * <dependency>
 *   <groupId>dev.mergeline</groupId><artifactId>mergeline-events</artifactId>
 *   <version>${project.version}</version><type>test-jar</type><scope>test</scope>
 * </dependency>
 * }</pre>
 * All fixtures describe one story: adapter {@value #ADAPTER_ID} (LoRA r=16 on all projections of
 * {@value #BASE_NAME}, {@code merge.json} asking for bf16) uploaded to bucket {@value #BUCKET} and
 * merged as job {@value #JOB_ID}; a second adapter, {@code llama31-8b-chat-lora-r64}, is rejected.
 * The ids in the fixtures are the real {@link JobId} / {@link BaseIdentity} of their ETags.
 */
public final class EventFixtures {
    /** Resource folder of the fixtures. */
    public static final String ROOT = "/dev/mergeline/events/fixtures/";

    public static final String MERGE_REQUESTED = "merge-requested.json";
    public static final String MERGED_MODEL_READY = "merged-model-ready.json";
    public static final String ADAPTER_REJECTED = "adapter-rejected.json";
    public static final String MERGE_FAILED = "merge-failed.json";
    public static final String MERGE_PROGRESS = "merge-progress.json";
    public static final String MESSAGE_MALFORMED = "message-malformed.json";

    /** A single PUT of adapter_config.json. */
    public static final String S3_PUT = "s3-put.json";
    /** adapter_model.safetensors uploaded in 6 parts (ETag {@code …-6}). */
    public static final String S3_MULTIPART_UPLOAD = "s3-multipart-upload.json";
    /** merge.json created by CopyObject. */
    public static final String S3_COPY = "s3-copy.json";
    /** Key {@code notes+v2%2Bfinal.md} on the wire, {@code notes v2+final.md} decoded. */
    public static final String S3_KEY_SPACE_PLUS = "s3-key-space-plus.json";
    /** The {@code s3:TestEvent} S3 sends when notifications are configured (no records). */
    public static final String S3_TEST_EVENT = "s3-test-event.json";
    /** {@code {"adapter":"s3://mergeline/adapters/llama32-1b-support-lora/","base":"meta-llama/Llama-3.2-1B"}}. */
    public static final String ADAPTER_ANNOUNCEMENT = "adapter-announcement.json";

    /** Every CloudEvent fixture with its type, in {@link EventType} order. */
    public static final Map<String, EventType> EVENTS;

    /** Every inbound (adapter-uploads) fixture. */
    public static final List<String> INBOUND = List.of(S3_PUT, S3_MULTIPART_UPLOAD, S3_COPY, S3_KEY_SPACE_PLUS,
            S3_TEST_EVENT, ADAPTER_ANNOUNCEMENT);

    public static final String BUCKET = "mergeline";
    public static final String ADAPTER_ID = "llama32-1b-support-lora";
    public static final String BASE_NAME = "meta-llama/Llama-3.2-1B";
    public static final String JOB_ID = "b87a32d9bac55278b61e8918c916e314";
    public static final String BASE_IDENTITY = "5fec8243f323ed493b612a3c582d423fe532d9d08d7d60803a810f248b92a2c7";

    static {
        Map<String, EventType> events = new LinkedHashMap<>();
        events.put(MERGE_REQUESTED, EventType.MERGE_REQUESTED);
        events.put(MERGED_MODEL_READY, EventType.MERGED_MODEL_READY);
        events.put(ADAPTER_REJECTED, EventType.ADAPTER_REJECTED);
        events.put(MERGE_FAILED, EventType.MERGE_FAILED);
        events.put(MERGE_PROGRESS, EventType.MERGE_PROGRESS);
        events.put(MESSAGE_MALFORMED, EventType.MESSAGE_MALFORMED);
        EVENTS = java.util.Collections.unmodifiableMap(events);
    }

    private EventFixtures() {}

    /** The bytes of fixture {@code name} (e.g. {@link #MERGE_REQUESTED}). */
    public static byte[] load(String name) {
        try (InputStream in = EventFixtures.class.getResourceAsStream(ROOT + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no event fixture " + ROOT + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The fixture as text. */
    public static String text(String name) {
        return new String(load(name), StandardCharsets.UTF_8);
    }

    /** The fixture decoded as an event with {@code dataClass} data. */
    public static <T> CloudEvent<T> event(String name, Class<T> dataClass) {
        return EventCodec.instance().decode(load(name), dataClass);
    }
}
