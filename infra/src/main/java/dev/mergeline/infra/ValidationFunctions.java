package dev.mergeline.infra;

import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import software.amazon.awscdk.Aws;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.services.lambda.Architecture;
import software.amazon.awscdk.services.lambda.CfnPermission;
import software.amazon.awscdk.services.lambda.Code;
import software.amazon.awscdk.services.lambda.Function;
import software.amazon.awscdk.services.lambda.Runtime;
import software.amazon.awscdk.services.lambda.StartingPosition;
import software.amazon.awscdk.services.lambda.eventsources.AuthenticationMethod;
import software.amazon.awscdk.services.lambda.eventsources.ManagedKafkaEventSource;
import software.amazon.awscdk.services.lambda.eventsources.SelfManagedKafkaEventSource;
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.s3.CfnBucket;
import software.amazon.awscdk.services.sqs.Queue;
import software.amazon.awscdk.services.sqs.QueueEncryption;
import software.constructs.Construct;

/**
 * The two Lambdas of {@code functions/function.zip} (Quarkus Funqy, one zip, the export picked by
 * {@code QUARKUS_FUNQY_EXPORT}):
 * <ul>
 * <li>Validation: S3 {@code s3:ObjectCreated:*} under {@code adapters/} → {@code s3Trigger}. The
 * notification is the bucket's own (CloudFormation {@code NotificationConfiguration}), not CDK's
 * notification custom resource, whose Lambda would need {@code s3:PutBucketNotification} on
 * {@code *}. Failed asynchronous invocations land in an SQS dead-letter queue.</li>
 * <li>Kafka ingress: an event source mapping on {@code adapter-uploads} (MSK or self-managed) →
 * {@code kafkaTrigger}, consumer group {@code mergeline-functions}.</li>
 * </ul>
 * Both run in the private subnets (they produce to Kafka), read adapters/ and base-models/ only,
 * and produce to merge-requests and merge-failures.
 */
public final class ValidationFunctions extends Construct {

    private final Function validation;
    private final Function kafkaIngress;
    private final Queue deadLetters;
    private final LogGroup validationLogs;
    private final LogGroup kafkaIngressLogs;

    public ValidationFunctions(Construct scope, String id, MergelineConfig config, Storage storage,
            Network network, KafkaClients kafka, software.amazon.awscdk.services.logs.RetentionDays retention) {
        super(scope, id);
        if (!Files.isRegularFile(config.functionCode) && !Files.isDirectory(config.functionCode)) {
            throw new IllegalArgumentException("function code not found: " + config.functionCode
                    + " (build it first: ./mvnw -B -pl functions -am package -DskipTests, or set functionCode)");
        }
        Code code = Code.fromAsset(config.functionCode.toString());

        validationLogs = LogGroup.Builder.create(this, "ValidationLogs").retention(retention).build();
        kafkaIngressLogs = LogGroup.Builder.create(this, "KafkaIngressLogs").retention(retention).build();
        deadLetters = Queue.Builder.create(this, "ValidationDeadLetters")
                .encryption(QueueEncryption.SQS_MANAGED)
                .enforceSsl(true)
                .retentionPeriod(Duration.days(14))
                .build();

        validation = function("Validation", Contract.EXPORT_S3, code, validationLogs, config, storage, network,
                kafka)
                .description("Mergeline: validates adapters on S3 upload (s3Trigger)")
                .deadLetterQueue(deadLetters)
                .retryAttempts(2)
                .build();
        kafkaIngress = function("KafkaIngress", Contract.EXPORT_KAFKA, code, kafkaIngressLogs, config, storage,
                network, kafka)
                .description("Mergeline: validates adapters announced on " + Contract.TOPIC_ADAPTER_UPLOADS
                        + " (kafkaTrigger)")
                .build();

        List<String> produce = List.of(Contract.TOPIC_MERGE_REQUESTS, Contract.TOPIC_MERGE_FAILURES);
        LeastPrivilege.grantFunctions(validation.getRole(), storage);
        LeastPrivilege.grantKafka(validation.getRole(), config, produce, null, null);
        LeastPrivilege.grantFunctions(kafkaIngress.getRole(), storage);
        LeastPrivilege.grantKafka(kafkaIngress.getRole(), config, produce, Contract.TOPIC_ADAPTER_UPLOADS,
                Contract.GROUP_FUNCTIONS);

        wireS3Notification(storage);
        wireKafkaSource(config, network, kafka);
    }

    private Function.Builder function(String id, String export, Code code, LogGroup logs, MergelineConfig config,
            Storage storage, Network network, KafkaClients kafka) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("QUARKUS_FUNQY_EXPORT", export);
        env.put("MERGELINE_BUCKET", storage.bucketName());
        env.put("MERGELINE_S3_REGION", Aws.REGION);
        env.putAll(kafka.environment());
        env.putAll(kafka.lambdaSecretEnvironment());
        return Function.Builder.create(this, id)
                .runtime(Runtime.JAVA_21)
                .architecture(Architecture.X86_64)
                .handler(Contract.FUNQY_HANDLER)
                .code(code)
                .memorySize(config.functionMemoryMiB)
                .timeout(Duration.seconds(config.functionTimeoutSeconds))
                .environment(env)
                .vpc(network.vpc())
                .vpcSubnets(network.privateSubnets())
                .securityGroups(List.of(network.clients()))
                .logGroup(logs);
    }

    /**
     * S3 → Lambda without a custom resource: the bucket carries the notification and depends on
     * the invoke permission, whose source ARN is built from the literal bucket name (a reference to
     * the bucket would close a dependency cycle).
     */
    private void wireS3Notification(Storage storage) {
        CfnPermission permission = CfnPermission.Builder.create(this, "S3InvokeValidation")
                .action("lambda:InvokeFunction")
                .functionName(validation.getFunctionArn())
                .principal("s3.amazonaws.com")
                .sourceArn(storage.bucketArn())
                .sourceAccount(Aws.ACCOUNT_ID)
                .build();
        CfnBucket bucket = (CfnBucket) storage.bucket().getNode().getDefaultChild();
        bucket.setNotificationConfiguration(CfnBucket.NotificationConfigurationProperty.builder()
                .lambdaConfigurations(List.of(CfnBucket.LambdaConfigurationProperty.builder()
                        .event("s3:ObjectCreated:*")
                        .function(validation.getFunctionArn())
                        .filter(CfnBucket.NotificationFilterProperty.builder()
                                .s3Key(CfnBucket.S3KeyFilterProperty.builder()
                                        .rules(List.of(CfnBucket.FilterRuleProperty.builder()
                                                .name("prefix").value(Contract.ADAPTERS).build()))
                                        .build())
                                .build())
                        .build()))
                .build());
        bucket.addResourceDependency(permission);
    }

    private void wireKafkaSource(MergelineConfig config, Network network, KafkaClients kafka) {
        boolean scram = config.kafkaClientAuth == MergelineConfig.KafkaClientAuth.SCRAM;
        if (config.kafkaMode == MergelineConfig.KafkaMode.MSK) {
            // IAM: the mapping authenticates as the function's role (no secret); SCRAM: with the secret.
            ManagedKafkaEventSource.Builder b = ManagedKafkaEventSource.Builder.create()
                    .clusterArn(config.mskClusterArn)
                    .topic(Contract.TOPIC_ADAPTER_UPLOADS)
                    .consumerGroupId(Contract.GROUP_FUNCTIONS)
                    .startingPosition(StartingPosition.TRIM_HORIZON)
                    .batchSize(10);
            if (scram) {
                b.secret(kafka.secret());
            }
            kafkaIngress.addEventSource(b.build());
        } else {
            SelfManagedKafkaEventSource.Builder b = SelfManagedKafkaEventSource.Builder.create()
                    .bootstrapServers(List.of(config.kafkaBootstrapServers.split("\\s*,\\s*")))
                    .topic(Contract.TOPIC_ADAPTER_UPLOADS)
                    .consumerGroupId(Contract.GROUP_FUNCTIONS)
                    .startingPosition(StartingPosition.TRIM_HORIZON)
                    .batchSize(10)
                    .vpc(network.vpc())
                    .vpcSubnets(network.privateSubnets())
                    .securityGroup(network.clients());
            if (scram) {
                b.secret(kafka.secret()).authenticationMethod(AuthenticationMethod.SASL_SCRAM_512_AUTH);
            }
            kafkaIngress.addEventSource(b.build());
        }
    }

    public Function validation() {
        return validation;
    }

    public Function kafkaIngress() {
        return kafkaIngress;
    }

    public Queue deadLetters() {
        return deadLetters;
    }

    public LogGroup validationLogs() {
        return validationLogs;
    }

    public LogGroup kafkaIngressLogs() {
        return kafkaIngressLogs;
    }
}
