package dev.mergeline.infra;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import software.amazon.awscdk.Aws;
import software.amazon.awscdk.services.iam.Effect;
import software.amazon.awscdk.services.iam.IRole;
import software.amazon.awscdk.services.iam.PolicyStatement;

/**
 * The IAM statements of each component, written out by hand (CDK's {@code bucket.grantRead}
 * would allow {@code s3:List*} and {@code s3:GetBucket*} on the whole bucket).
 *
 * <table>
 * <tr><th>component</th><th>S3</th><th>MSK (IAM auth)</th></tr>
 * <tr><td>validation functions</td><td>GetObject on adapters/*, base-models/*; ListBucket for those
 * prefixes</td><td>Connect, WriteData(+Idempotently) on merge-requests, merge-failures (the Kafka
 * ingress function also reads adapter-uploads as group mergeline-functions)</td></tr>
 * <tr><td>merge worker</td><td>GetObject on adapters/*, base-models/*, merged/*; PutObject and
 * AbortMultipartUpload on merged/*; ListBucket for those prefixes</td><td>Connect, ReadData on
 * merge-requests as group mergeline-worker, WriteData on merged-model-ready, merge-failures,
 * merge-progress</td></tr>
 * </table>
 *
 * Nothing may delete objects: the worker never deletes (a half-written output has no
 * MANIFEST.json, and lifecycle rules clean up), and no component can write outside merged/.
 */
public final class LeastPrivilege {

    private LeastPrivilege() {
    }

    /** Validation functions: read adapters and base models, nothing else. */
    public static void grantFunctions(IRole role, Storage storage) {
        List<String> read = List.of(Contract.ADAPTERS, Contract.BASE_MODELS);
        role.addToPrincipalPolicy(getObjects(storage, read));
        role.addToPrincipalPolicy(listPrefixes(storage, read));
        if (storage.key() != null) {
            role.addToPrincipalPolicy(kms(storage, List.of("kms:Decrypt")));
        }
    }

    /** Merge worker: read adapters, base models and merged outputs; write merged outputs only. */
    public static void grantWorker(IRole role, Storage storage) {
        List<String> read = List.of(Contract.ADAPTERS, Contract.BASE_MODELS, Contract.MERGED);
        role.addToPrincipalPolicy(getObjects(storage, read));
        role.addToPrincipalPolicy(PolicyStatement.Builder.create()
                .sid("WriteMergedOutputs")
                .effect(Effect.ALLOW)
                .actions(List.of("s3:PutObject", "s3:AbortMultipartUpload"))
                .resources(List.of(storage.objectsArn(Contract.MERGED)))
                .build());
        role.addToPrincipalPolicy(listPrefixes(storage, read));
        if (storage.key() != null) {
            // multipart uploads need Decrypt as well as GenerateDataKey
            role.addToPrincipalPolicy(kms(storage, List.of("kms:Decrypt", "kms:GenerateDataKey")));
        }
    }

    private static PolicyStatement getObjects(Storage storage, List<String> prefixes) {
        return PolicyStatement.Builder.create()
                .sid("ReadObjects")
                .effect(Effect.ALLOW)
                .actions(List.of("s3:GetObject"))
                .resources(prefixes.stream().map(storage::objectsArn).toList())
                .build();
    }

    /**
     * ListBucket, limited by {@code s3:prefix}. Note: without an unconditional ListBucket, S3
     * answers HeadObject/GetObject of a missing key with 403, not 404, so the applications look
     * for optional objects with prefix listings.
     */
    private static PolicyStatement listPrefixes(Storage storage, List<String> prefixes) {
        List<String> patterns = new ArrayList<>();
        for (String p : prefixes) {
            patterns.add(p + "*");
        }
        return PolicyStatement.Builder.create()
                .sid("ListOwnPrefixes")
                .effect(Effect.ALLOW)
                .actions(List.of("s3:ListBucket"))
                .resources(List.of(storage.bucketArn()))
                .conditions(Map.of("StringLike", Map.of("s3:prefix", patterns)))
                .build();
    }

    private static PolicyStatement kms(Storage storage, List<String> actions) {
        return PolicyStatement.Builder.create()
                .sid("UseBucketKeyThroughS3")
                .effect(Effect.ALLOW)
                .actions(actions)
                .resources(List.of(storage.key().getKeyArn()))
                .conditions(Map.of("StringEquals", Map.of("kms:ViaService", "s3." + Aws.REGION + ".amazonaws.com")))
                .build();
    }

    /**
     * MSK IAM access control for a producer of the given topics, optionally also a consumer of
     * {@code consumeTopic} in {@code group}. Empty for self-managed Kafka (brokers authorize there).
     */
    public static void grantKafka(IRole role, MergelineConfig config, List<String> produceTopics,
            String consumeTopic, String group) {
        if (config.kafkaMode != MergelineConfig.KafkaMode.MSK) {
            return;
        }
        MskArns arns = MskArns.parse(config.mskClusterArn);
        List<String> clusterActions = new ArrayList<>(List.of("kafka-cluster:Connect"));
        if (!produceTopics.isEmpty()) {
            // Kafka >= 3 producers are idempotent by default
            clusterActions.add("kafka-cluster:WriteDataIdempotently");
        }
        if (consumeTopic != null) {
            // needed by Lambda's MSK event source mapping with IAM authentication
            clusterActions.add("kafka-cluster:DescribeClusterDynamicConfiguration");
        }
        role.addToPrincipalPolicy(PolicyStatement.Builder.create()
                .sid("KafkaConnect")
                .effect(Effect.ALLOW)
                .actions(clusterActions)
                .resources(List.of(arns.cluster()))
                .build());
        if (!produceTopics.isEmpty()) {
            role.addToPrincipalPolicy(PolicyStatement.Builder.create()
                    .sid("KafkaProduce")
                    .effect(Effect.ALLOW)
                    .actions(List.of("kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"))
                    .resources(produceTopics.stream().map(arns::topic).toList())
                    .build());
        }
        if (consumeTopic != null) {
            role.addToPrincipalPolicy(PolicyStatement.Builder.create()
                    .sid("KafkaConsume")
                    .effect(Effect.ALLOW)
                    .actions(List.of("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData",
                            "kafka-cluster:DescribeTopicDynamicConfiguration"))
                    .resources(List.of(arns.topic(consumeTopic)))
                    .build());
            role.addToPrincipalPolicy(PolicyStatement.Builder.create()
                    .sid("KafkaConsumerGroup")
                    .effect(Effect.ALLOW)
                    .actions(List.of("kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"))
                    .resources(List.of(arns.group(group)))
                    .build());
        }
    }

    /**
     * SASL/SCRAM: the functions read the secret when a Kafka connection authenticates
     * ({@link KafkaClients#SCRAM_SECRET_CALLBACK}). Nothing unless {@code scram}.
     */
    public static void grantScramSecret(IRole role, MergelineConfig config) {
        if (config.kafkaClientAuth != MergelineConfig.KafkaClientAuth.SCRAM) {
            return;
        }
        role.addToPrincipalPolicy(PolicyStatement.Builder.create()
                .sid("KafkaScramSecret")
                .effect(Effect.ALLOW)
                .actions(List.of("secretsmanager:GetSecretValue"))
                .resources(List.of(config.kafkaSecretArn))
                .build());
    }
}
