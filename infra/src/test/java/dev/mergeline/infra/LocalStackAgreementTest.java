package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import software.amazon.awscdk.assertions.Template;

/**
 * The LocalStack deployment (localstack/init/mergeline.conf, localstack/docker-compose.yml) runs the
 * functions the way the AWS stack does: the same runtime, handler, exports, S3 prefix and consumer
 * group as the synthesized template, and a pinned LocalStack image.
 */
class LocalStackAgreementTest {

    private static final Path ROOT = Path.of(System.getProperty("mergeline.infra.dir", ".")).toAbsolutePath()
            .resolve("..").normalize();

    private static Map<String, String> conf() throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(ROOT.resolve("localstack/init/mergeline.conf"))) {
            Matcher m = Pattern.compile("^([a-z_0-9]+)=([^\\s$`(]*)$").matcher(line.trim());
            if (m.matches()) {
                out.put(m.group(1), m.group(2));
            }
        }
        return out;
    }

    @Test
    @SuppressWarnings("unchecked")
    void localStackLambdasMatchTheAwsStack() throws IOException {
        Map<String, String> conf = conf();
        Template t = Synth.msk();
        for (Map<String, Object> fn : Cfn.resources(t, "AWS::Lambda::Function").values()) {
            assertEquals(fn.get("Runtime"), conf.get("lambda_runtime"), "runtime");
            assertEquals(fn.get("Handler"), conf.get("lambda_handler"), "handler");
        }
        assertEquals(List.of(conf.get("s3_function_export"), conf.get("kafka_function_export")),
                List.of(Contract.EXPORT_S3, Contract.EXPORT_KAFKA));
        assertTrue(Cfn.functionWithExport(t, conf.get("s3_function_export")).isPresent());
        assertTrue(Cfn.functionWithExport(t, conf.get("kafka_function_export")).isPresent());
        Map<String, Object> esm = Cfn.resources(t, "AWS::Lambda::EventSourceMapping").values().iterator().next();
        assertEquals(Map.of("ConsumerGroupId", conf.get("kafka_consumer_group")),
                esm.get("AmazonManagedKafkaEventSourceConfig"), "consumer group");
        assertEquals(List.of(conf.get("uploads_topic")), esm.get("Topics"));
        String bucket = String.valueOf(Cfn.resources(t, "AWS::S3::Bucket").values().iterator().next()
                .get("NotificationConfiguration"));
        assertTrue(bucket.contains("Name=prefix, Value=" + conf.get("notification_prefix")), bucket);
    }

    @Test
    void localStackImageIsPinned() throws IOException {
        String compose = Files.readString(ROOT.resolve("localstack/docker-compose.yml"));
        Matcher m = Pattern.compile("image: localstack/localstack:(\\S+)").matcher(compose);
        assertTrue(m.find(), "no LocalStack image in docker-compose.yml");
        String tag = m.group(1);
        Matcher v = Pattern.compile("^\\$\\{LOCALSTACK_VERSION:-(.+)}$").matcher(tag);
        String pinned = v.matches() ? v.group(1) : tag;
        assertTrue(pinned.matches("\\d+\\.\\d+(\\.\\d+)?"), "LocalStack image not pinned to a release: " + tag);
    }
}
