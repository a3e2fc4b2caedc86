package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import software.amazon.awscdk.assertions.Template;

/**
 * The functions read adapters/ and base-models/ only; the worker reads those and merged/, and
 * writes merged/ only; nothing anywhere is granted on every S3 resource. Checked on both stack
 * variants (SSE-S3 + MSK/IAM, SSE-KMS + self-managed Kafka).
 */
class LeastPrivilegeTest {

    static Stream<Arguments> stacks() {
        return Stream.of(Arguments.of("msk", Synth.msk(), "mergeline"),
                Arguments.of("variant", Synth.variant(), "acme-mergeline-prod"));
    }

    private static String objects(String bucket, String prefix) {
        return "arn:${AWS::Partition}:s3:::" + bucket + "/" + prefix + "*";
    }

    private static List<Cfn.Statement> s3Allows(List<Cfn.Statement> statements) {
        return statements.stream().filter(Cfn.Statement::allows)
                .filter(s -> s.actions().stream().anyMatch(a -> a.startsWith("s3:") || a.equals("*")))
                .toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stacks")
    void functionsReadAdaptersAndBaseModelsOnly(String name, Template t, String bucket) {
        for (String export : List.of(Contract.EXPORT_S3, Contract.EXPORT_KAFKA)) {
            List<Cfn.Statement> s3 = s3Allows(Cfn.roleStatements(t, Cfn.functionRole(t, export)));
            Set<String> actions = s3.stream().flatMap(s -> s.actions().stream()).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(new TreeSet<>(List.of("s3:GetObject", "s3:ListBucket")), actions, export + ": " + s3);
            assertFalse(actions.stream().anyMatch(a -> a.startsWith("s3:Put") || a.startsWith("s3:Delete")
                    || a.contains("*")), export + ": " + actions);

            List<String> getResources = s3.stream().filter(s -> s.hasAction("s3:GetObject"))
                    .flatMap(s -> s.resources().stream()).sorted().toList();
            assertEquals(List.of(objects(bucket, "adapters/"), objects(bucket, "base-models/")), getResources,
                    export);

            List<Cfn.Statement> list = s3.stream().filter(s -> s.hasAction("s3:ListBucket")).toList();
            assertEquals(1, list.size());
            assertEquals(List.of("arn:${AWS::Partition}:s3:::" + bucket), list.get(0).resources());
            assertEquals(Map.of("StringLike", Map.of("s3:prefix", List.of("adapters/*", "base-models/*"))),
                    list.get(0).condition());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stacks")
    void workerWritesMergedOutputsOnly(String name, Template t, String bucket) {
        List<Cfn.Statement> s3 = s3Allows(Cfn.roleStatements(t, Cfn.workerTaskRole(t)));
        List<Cfn.Statement> writes = s3.stream().filter(s -> s.actions().stream()
                .anyMatch(a -> !a.equals("s3:GetObject") && !a.equals("s3:ListBucket"))).toList();
        Set<String> writeActions = writes.stream().flatMap(s -> s.actions().stream())
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(List.of("s3:AbortMultipartUpload", "s3:PutObject")), writeActions,
                writes.toString());
        assertEquals(Set.of(objects(bucket, "merged/")),
                writes.stream().flatMap(s -> s.resources().stream()).collect(Collectors.toSet()));

        List<String> reads = s3.stream().filter(s -> s.hasAction("s3:GetObject"))
                .flatMap(s -> s.resources().stream()).sorted().toList();
        assertEquals(List.of(objects(bucket, "adapters/"), objects(bucket, "base-models/"),
                objects(bucket, "merged/")), reads);

        List<Cfn.Statement> list = s3.stream().filter(s -> s.hasAction("s3:ListBucket")).toList();
        assertEquals(1, list.size());
        assertEquals(Map.of("StringLike", Map.of("s3:prefix", List.of("adapters/*", "base-models/*", "merged/*"))),
                list.get(0).condition());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stacks")
    void noS3PermissionOnEveryResourceAnywhere(String name, Template t, String bucket) {
        List<Cfn.Statement> all = Cfn.allStatements(t);
        assertTrue(all.size() > 10, "found " + all.size() + " statements");
        for (Cfn.Statement s : s3Allows(all)) {
            assertFalse(s.resources().contains("*"), "S3 on *: " + s);
            assertFalse(s.actions().contains("s3:*") || s.actions().contains("*"), "wildcard S3 action: " + s);
            for (String r : s.resources()) {
                assertTrue(r.startsWith("arn:${AWS::Partition}:s3:::" + bucket), "outside the bucket: " + s);
            }
        }
        // the only roles that hold S3 permissions at all: the two functions and the worker task
        Set<String> holders = s3Allows(all).stream().map(Cfn.Statement::source).collect(Collectors.toSet());
        assertEquals(3, holders.size(), holders.toString());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stacks")
    void managedPoliciesAreLambdaServiceRolesOnly(String name, Template t, String bucket) {
        Set<String> allowed = Set.of("service-role/AWSLambdaBasicExecutionRole",
                "service-role/AWSLambdaVPCAccessExecutionRole", "service-role/AWSLambdaMSKExecutionRole");
        Cfn.resources(t, "AWS::IAM::Role").forEach((id, role) -> {
            for (String arn : Cfn.renderAll(role.get("ManagedPolicyArns"))) {
                String policy = arn.substring(arn.indexOf(":policy/") + ":policy/".length());
                assertTrue(allowed.contains(policy), id + " has managed policy " + arn);
            }
        });
        assertTrue(Cfn.renderAll(Cfn.resources(t, "AWS::IAM::Role").get(Cfn.workerTaskRole(t))
                .get("ManagedPolicyArns")).isEmpty());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stacks")
    void noCredentialsInTheTemplate(String name, Template t, String bucket) {
        String json = String.valueOf(Synth.json(t));
        assertFalse(json.matches("(?s).*\\b(AKIA|ASIA)[A-Z0-9]{16}\\b.*"), "access key id in template");
        for (String forbidden : List.of("MERGELINE_S3_ACCESS_KEY", "MERGELINE_S3_SECRET_KEY", "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")) {
            assertFalse(json.contains(forbidden), forbidden);
        }
    }

    @org.junit.jupiter.api.Test
    void mskIamPermissionsFollowTheTopicContract() {
        Template t = Synth.msk();
        MskArns arns = MskArns.parse(Synth.CLUSTER_ARN);
        for (String export : List.of(Contract.EXPORT_S3, Contract.EXPORT_KAFKA)) {
            List<Cfn.Statement> st = Cfn.roleStatements(t, Cfn.functionRole(t, export));
            assertEquals(Set.of(arns.topic("merge-requests"), arns.topic("merge-failures")),
                    resourcesOf(st, "kafka-cluster:WriteData"), export);
            assertTrue(resourcesOf(st, "kafka-cluster:Connect").equals(Set.of(arns.cluster())), export);
        }
        List<Cfn.Statement> ingress = Cfn.roleStatements(t, Cfn.functionRole(t, Contract.EXPORT_KAFKA));
        assertEquals(Set.of(arns.topic("adapter-uploads")), resourcesOf(ingress, "kafka-cluster:ReadData"));
        assertEquals(Set.of(arns.group("mergeline-functions")), resourcesOf(ingress, "kafka-cluster:AlterGroup"));
        List<Cfn.Statement> validation = Cfn.roleStatements(t, Cfn.functionRole(t, Contract.EXPORT_S3));
        assertEquals(Set.of(), resourcesOf(validation, "kafka-cluster:ReadData"));

        List<Cfn.Statement> worker = Cfn.roleStatements(t, Cfn.workerTaskRole(t));
        assertEquals(Set.of(arns.topic("merge-requests")), resourcesOf(worker, "kafka-cluster:ReadData"));
        assertEquals(Set.of(arns.group("mergeline-worker")), resourcesOf(worker, "kafka-cluster:DescribeGroup"));
        assertEquals(Set.of(arns.group("mergeline-worker")), resourcesOf(worker, "kafka-cluster:AlterGroup"));
        assertEquals(Set.of(arns.topic("merged-model-ready"), arns.topic("merge-failures"),
                arns.topic("merge-progress")), resourcesOf(worker, "kafka-cluster:WriteData"));
        // no wildcard kafka-cluster actions or resources
        for (Cfn.Statement s : Cfn.allStatements(t)) {
            if (s.actions().stream().anyMatch(a -> a.startsWith("kafka-cluster:"))) {
                assertFalse(s.actions().contains("kafka-cluster:*"), s.toString());
                assertFalse(s.resources().stream().anyMatch(r -> r.contains("*")), s.toString());
            }
        }
        // self-managed Kafka authorizes on the brokers: no MSK IAM statements
        assertTrue(Cfn.allStatements(Synth.variant()).stream().flatMap(s -> s.actions().stream())
                .noneMatch(a -> a.startsWith("kafka-cluster:")));
    }

    private static Set<String> resourcesOf(List<Cfn.Statement> statements, String action) {
        return statements.stream().filter(Cfn.Statement::allows).filter(s -> s.hasAction(action))
                .flatMap(s -> s.resources().stream()).collect(Collectors.toSet());
    }
}
