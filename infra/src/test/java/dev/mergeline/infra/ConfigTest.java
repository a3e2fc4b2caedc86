package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** Inputs and their validation; no synthesis. */
class ConfigTest {

    private static MergelineConfig fromContext(Map<String, Object> context) {
        return MergelineConfig.fromContext(context::get, Path.of("/repo/infra"));
    }

    private static Map<String, Object> msk() {
        Map<String, Object> c = new HashMap<>();
        c.put("mskClusterArn", Synth.CLUSTER_ARN);
        c.put("kafkaBootstrapServers", Synth.BOOTSTRAP);
        return c;
    }

    /**
     * Every default in the context table of docs/deploy-aws.md, read from that table: the defaults the
     * configuration applies and the values cdk.json ships must be the documented ones.
     */
    @Test
    void defaultsAreTheDocumentedOnesAndCdkJsonShipsThem() throws Exception {
        Map<String, String> documented = documentedDefaults();
        MergelineConfig c = fromContext(msk());
        int compared = 0;
        for (Map.Entry<String, String> d : documented.entrySet()) {
            java.lang.reflect.Field field;
            try {
                field = MergelineConfig.class.getField(d.getKey());
            } catch (NoSuchFieldException e) {
                continue; // read by the app, not the configuration (stackName)
            }
            Object value = field.get(c);
            String expected = d.getKey().equals("functionCode")
                    ? Path.of("/repo/infra").resolve(d.getValue()).normalize().toString() : d.getValue();
            assertEquals(expected, asContextValue(value), d.getKey());
            compared++;
        }
        assertTrue(compared >= 25, "documented defaults compared: " + compared + " of " + documented);

        com.fasterxml.jackson.databind.JsonNode shipped = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Path.of("cdk.json").toFile()).path("context");
        shipped.fields().forEachRemaining(e -> {
            String value = asContextValue(e.getValue().isArray()
                    ? java.util.stream.StreamSupport.stream(e.getValue().spliterator(), false)
                            .map(com.fasterxml.jackson.databind.JsonNode::asText).toList()
                    : e.getValue().asText());
            if (!value.isEmpty() && !value.contains(MergelineConfig.PLACEHOLDER)) {
                assertEquals(documented.get(e.getKey()), value, "cdk.json " + e.getKey());
            }
        });
        // S3 bucket names are global: the default name is a placeholder, and cdk deploy refuses it
        assertEquals(List.of("bucketName"), c.placeholders());
        Map<String, Object> named = msk();
        named.put("bucketName", "acme-mergeline-prod");
        assertTrue(fromContext(named).placeholders().isEmpty());
    }

    /** A configuration value as the context spells it: enums in lower case, lists comma-separated. */
    private static String asContextValue(Object value) {
        if (value instanceof Enum<?> e) {
            return e.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
        if (value instanceof List<?> list) {
            return String.join(",", list.stream().map(String::valueOf).toList());
        }
        return String.valueOf(value);
    }

    /**
     * key → default from the table in docs/deploy-aws.md: rows {@code | `key` / `key2` | `d1` / `d2` | ...},
     * the first code span of each default; keys without a default ("—") are left out.
     */
    private static Map<String, String> documentedDefaults() throws java.io.IOException {
        Map<String, String> defaults = new java.util.LinkedHashMap<>();
        java.util.regex.Pattern code = java.util.regex.Pattern.compile("`([^`]*)`");
        for (String line : java.nio.file.Files.readAllLines(Path.of("../docs/deploy-aws.md"))) {
            String[] cells = line.split("\\|");
            if (cells.length < 4 || !cells[1].trim().startsWith("`")) {
                continue;
            }
            String[] keys = cells[1].split(" / |, ");
            String[] values = cells[2].split(" / ");
            for (int i = 0; i < keys.length && keys.length == values.length; i++) {
                java.util.regex.Matcher key = code.matcher(keys[i]);
                java.util.regex.Matcher value = code.matcher(values[i]);
                if (key.find() && value.find()) {
                    defaults.put(key.group(1), value.group(1));
                }
            }
        }
        return defaults;
    }

    @Test
    void contextValuesMayBeStringsNumbersOrLists() {
        Map<String, Object> ctx = msk();
        ctx.put("encryption", "kms");
        ctx.put("workerMaxTasks", "6");
        ctx.put("mergedExpirationDays", 14);
        ctx.put("vpcId", "vpc-1");
        ctx.put("vpcAvailabilityZones", "eu-west-1a, eu-west-1b");
        ctx.put("vpcPrivateSubnetIds", List.of("subnet-a", "subnet-b"));
        ctx.put("functionCode", "build/function.zip");
        ctx.put("kafkaSecretArn", "");
        ctx.put("workerInstanceTypes", "g6.xlarge,g6e.xlarge");
        ctx.put("functionArchitecture", "x86_64");
        MergelineConfig c = fromContext(ctx);
        assertEquals(List.of("g6.xlarge", "g6e.xlarge"), c.workerInstanceTypes);
        assertEquals(MergelineConfig.FunctionArchitecture.X86_64, c.functionArchitecture);
        assertEquals(MergelineConfig.Encryption.KMS, c.encryption);
        assertEquals(6, c.workerMaxTasks);
        assertEquals(14, c.mergedExpirationDays);
        assertEquals(List.of("eu-west-1a", "eu-west-1b"), c.vpcAvailabilityZones);
        assertEquals(List.of("subnet-a", "subnet-b"), c.vpcPrivateSubnetIds);
        assertEquals(Path.of("/repo/infra/build/function.zip"), c.functionCode);
        assertNull(c.kafkaSecretArn);
    }

    @Test
    void selfManagedKafkaDefaultsToScramWithASecretAndPlaintextWithout() {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("kafkaMode", "self-managed");
        ctx.put("kafkaBootstrapServers", "k:9092");
        assertEquals(MergelineConfig.KafkaClientAuth.PLAINTEXT, fromContext(ctx).kafkaClientAuth);
        assertEquals("Mergeline/Kafka", fromContext(ctx).lagMetricNamespace);
        ctx.put("kafkaSecretArn", Synth.SECRET_ARN);
        assertEquals(MergelineConfig.KafkaClientAuth.SCRAM, fromContext(ctx).kafkaClientAuth);
        ctx.put("kafkaClientAuth", "tls");
        assertEquals(MergelineConfig.KafkaClientAuth.TLS, fromContext(ctx).kafkaClientAuth);
    }

    @Test
    void inconsistentInputsAreRefused() {
        Map<String, Object> noArn = msk();
        noArn.remove("mskClusterArn");
        assertThrows(IllegalArgumentException.class, () -> fromContext(noArn));

        Map<String, Object> badArn = msk();
        badArn.put("mskClusterArn", "arn:aws:kafka:eu-west-1:111122223333:topic/x");
        assertThrows(IllegalArgumentException.class, () -> fromContext(badArn));

        Map<String, Object> noServers = msk();
        noServers.remove("kafkaBootstrapServers");
        assertThrows(IllegalArgumentException.class, () -> fromContext(noServers));

        Map<String, Object> iamSelfManaged = new HashMap<>(Map.of("kafkaMode", "self-managed",
                "kafkaBootstrapServers", "k:9092", "kafkaClientAuth", "iam"));
        assertThrows(IllegalArgumentException.class, () -> fromContext(iamSelfManaged));

        Map<String, Object> scramNoSecret = msk();
        scramNoSecret.put("kafkaClientAuth", "scram");
        assertThrows(IllegalArgumentException.class, () -> fromContext(scramNoSecret));

        Map<String, Object> vpcNoSubnets = msk();
        vpcNoSubnets.put("vpcId", "vpc-1");
        assertThrows(IllegalArgumentException.class, () -> fromContext(vpcNoSubnets));

        Map<String, Object> minAboveMax = msk();
        minAboveMax.put("workerMinTasks", 3);
        minAboveMax.put("workerMaxTasks", 2);
        assertThrows(IllegalArgumentException.class, () -> fromContext(minAboveMax));

        Map<String, Object> ageBelowLambdasMinimum = msk();
        ageBelowLambdasMinimum.put("kafkaMaxRecordAgeSeconds", 59);
        assertThrows(IllegalArgumentException.class, () -> fromContext(ageBelowLambdasMinimum));

        Map<String, Object> noGpuTypes = msk();
        noGpuTypes.put("workerInstanceTypes", List.of());
        assertThrows(IllegalArgumentException.class, () -> fromContext(noGpuTypes));

        // MSK serves each auth mode on its own port: IAM clients on the SCRAM port would never connect
        Map<String, Object> iamOnScramPort = msk();
        iamOnScramPort.put("kafkaBootstrapServers", "b-1.x.kafka.eu-west-1.amazonaws.com:9096");
        IllegalArgumentException wrongPort = assertThrows(IllegalArgumentException.class,
                () -> fromContext(iamOnScramPort));
        assertTrue(wrongPort.getMessage().contains("9096"), wrongPort.getMessage());
        Map<String, Object> noPort = msk();
        noPort.put("kafkaBootstrapServers", "b-1.x.kafka.eu-west-1.amazonaws.com");
        assertThrows(IllegalArgumentException.class, () -> fromContext(noPort));

        Map<String, Object> tokenBucket = msk();
        tokenBucket.put("bucketName", "${Token[TOKEN.1]}");
        assertThrows(IllegalArgumentException.class, () -> fromContext(tokenBucket));
    }

    @Test
    void placeholdersAreReported() {
        Map<String, Object> ctx = msk();
        ctx.put("bucketName", "acme-mergeline");
        ctx.put("kafkaBootstrapServers", "b-1.REPLACE-ME.kafka.us-east-1.amazonaws.com:9098");
        assertEquals(List.of("kafkaBootstrapServers"), fromContext(ctx).placeholders());
    }

    @Test
    void mskArnsAreDerivedFromTheClusterArn() {
        MskArns a = MskArns.parse(Synth.CLUSTER_ARN);
        assertEquals(Synth.CLUSTER_ARN, a.cluster());
        assertEquals("arn:aws:kafka:eu-west-1:111122223333:topic/mergeline-kafka/"
                + "6f8f2c1a-1111-2222-3333-444455556666-7/merge-requests", a.topic("merge-requests"));
        assertEquals("arn:aws:kafka:eu-west-1:111122223333:group/mergeline-kafka/"
                + "6f8f2c1a-1111-2222-3333-444455556666-7/mergeline-worker", a.group("mergeline-worker"));
    }
}
