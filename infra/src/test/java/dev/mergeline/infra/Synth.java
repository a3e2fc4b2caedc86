package dev.mergeline.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import software.amazon.awscdk.App;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.assertions.Template;

/**
 * Synthesizes each stack variant once per test JVM (jsii start-up and synthesis take seconds) and
 * shares the templates among all test classes. Independent of a prior build: the function code is
 * a placeholder directory created here; {@link FunctionZipTest} synthesizes with the real
 * functions/target/function.zip.
 */
final class Synth {

    static final String CLUSTER_ARN =
            "arn:aws:kafka:eu-west-1:111122223333:cluster/mergeline-kafka/6f8f2c1a-1111-2222-3333-444455556666-7";
    static final String BOOTSTRAP =
            "b-1.mergeline-kafka.abc123.c7.kafka.eu-west-1.amazonaws.com:9098,"
                    + "b-2.mergeline-kafka.abc123.c7.kafka.eu-west-1.amazonaws.com:9098";
    static final String SECRET_ARN =
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:AmazonMSK_mergeline-AbCdEf";
    static final String SELF_MANAGED_SERVERS = "kafka-1.internal.example:9096,kafka-2.internal.example:9096";

    private static Template msk;
    private static Template variant;
    private static Path asset;

    private Synth() {
    }

    /** A placeholder for functions/target/function.zip. */
    static synchronized Path functionAsset() {
        if (asset == null) {
            try {
                asset = Files.createTempDirectory("mergeline-function-asset");
                Files.writeString(asset.resolve("PLACEHOLDER"), "stands in for function.zip in tests\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return asset;
    }

    /** Defaults: MSK with IAM auth, SSE-S3, created VPC, bucket "mergeline". */
    static MergelineConfig.Builder mskConfig() {
        return MergelineConfig.builder()
                .functionCode(functionAsset())
                .bucketName("mergeline")
                .mskClusterArn(CLUSTER_ARN)
                .kafkaBootstrapServers(BOOTSTRAP);
    }

    /** SSE-KMS, self-managed Kafka with SASL/SCRAM, imported VPC, other sizes. */
    static MergelineConfig.Builder variantConfig() {
        return MergelineConfig.builder()
                .functionCode(functionAsset())
                .bucketName("acme-mergeline-prod")
                .encryption(MergelineConfig.Encryption.KMS)
                .mergedExpirationDays(7)
                .kafkaMode(MergelineConfig.KafkaMode.SELF_MANAGED)
                .kafkaBootstrapServers(SELF_MANAGED_SERVERS)
                .kafkaSecretArn(SECRET_ARN)
                .kafkaSecurityGroupId("sg-0123456789abcdef0")
                .vpcId("vpc-0123456789abcdef0")
                .vpcAvailabilityZones(List.of("eu-west-1a", "eu-west-1b"))
                .vpcPrivateSubnetIds(List.of("subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"))
                .vpcPrivateRouteTableIds(List.of("rtb-0aaaaaaaaaaaaaaa1", "rtb-0bbbbbbbbbbbbbbb2"))
                .workerInstanceTypes(List.of("g6.xlarge", "g6e.xlarge"))
                .workerOnDemandBase(0)
                .functionArchitecture(MergelineConfig.FunctionArchitecture.X86_64)
                .workerAmi(MergelineConfig.WorkerAmi.AL2)
                .workerMinTasks(1)
                .workerMaxTasks(4)
                .workerLagPerTask(3)
                .alarmEmail("oncall@example.com")
                .tag("cost-center", "ml-platform");
    }

    static synchronized Template msk() {
        if (msk == null) {
            msk = synth(mskConfig().build());
        }
        return msk;
    }

    static synchronized Template variant() {
        if (variant == null) {
            variant = synth(variantConfig().build());
        }
        return variant;
    }

    static Template synth(MergelineConfig config) {
        App app = new App();
        MergelineStack stack = new MergelineStack(app, "Mergeline", StackProps.builder().build(), config);
        return Template.fromStack(stack);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(Template template) {
        return (Map<String, Object>) template.toJSON();
    }
}
