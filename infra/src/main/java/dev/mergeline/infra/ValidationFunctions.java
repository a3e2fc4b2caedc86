package dev.mergeline.infra;

import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import software.amazon.awscdk.Aws;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.services.lambda.Alias;
import software.amazon.awscdk.services.lambda.Architecture;
import software.amazon.awscdk.services.lambda.CfnPermission;
import software.amazon.awscdk.services.lambda.Code;
import software.amazon.awscdk.services.lambda.Function;
import software.amazon.awscdk.services.lambda.Runtime;
import software.amazon.awscdk.services.lambda.SnapStartConf;
import software.amazon.awscdk.services.lambda.StartingPosition;
import software.amazon.awscdk.services.lambda.eventsources.AuthenticationMethod;
import software.amazon.awscdk.services.lambda.eventsources.ManagedKafkaEventSource;
import software.amazon.awscdk.services.lambda.eventsources.ProvisionedPollerConfig;
import software.amazon.awscdk.services.lambda.eventsources.SelfManagedKafkaEventSource;
import software.amazon.awscdk.services.lambda.eventsources.SqsDlq;
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
 *
 * <p>Cold starts: SnapStart on published versions. Each function publishes a version per code or
 * configuration change and an alias {@value #ALIAS} points at it; the S3 notification, its invoke
 * permission and the event source mapping all target the alias, never {@code $LATEST} (SnapStart
 * applies to published versions only). Reserved concurrency bounds each function.
 *
 * <p>Kafka failures cannot block a partition: the mapping retries a failing batch at most
 * {@code kafkaRetryAttempts} times (splitting it in halves to isolate the bad record), drops records
 * older than {@code kafkaMaxRecordAgeSeconds}, and sends what it gives up on to an SQS queue
 * (alarmed by {@link Monitoring}). AWS offers these controls on Kafka mappings in provisioned poller
 * mode, so the mapping runs 1…{@code kafkaMaxPollers} provisioned pollers.
 */
public final class ValidationFunctions extends Construct {

    /** The alias that every trigger invokes (the current published version, restored from its SnapStart snapshot). */
    public static final String ALIAS = "live";

    /**
     * File names whose upload can complete an adapter (the functions validate once adapter_config.json
     * and the weights are both there; merge.json changes the job): the S3 notification fires on these
     * suffixes only, not on every object under adapters/.
     */
    public static final List<String> COMPLETING_FILES = List.of(
            "adapter_config.json", "adapter_model.safetensors", "adapter_model.bin", "merge.json");

    private final Function validation;
    private final Function kafkaIngress;
    private final Queue deadLetters;
    private final Queue kafkaFailures;
    private final Alias validationAlias;
    private final Alias kafkaIngressAlias;
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
        kafkaFailures = Queue.Builder.create(this, "KafkaIngressFailures")
                .encryption(QueueEncryption.SQS_MANAGED)
                .enforceSsl(true)
                .retentionPeriod(Duration.days(14))
                .build();

        validation = function("Validation", Contract.EXPORT_S3, code, validationLogs, config, storage, network,
                kafka)
                .description("Mergeline: validates adapters on S3 upload (s3Trigger)")
                .deadLetterQueue(deadLetters)
                .build();
        kafkaIngress = function("KafkaIngress", Contract.EXPORT_KAFKA, code, kafkaIngressLogs, config, storage,
                network, kafka)
                .description("Mergeline: validates adapters announced on " + Contract.TOPIC_ADAPTER_UPLOADS
                        + " (kafkaTrigger)")
                .build();

        List<String> produce = List.of(Contract.TOPIC_MERGE_REQUESTS, Contract.TOPIC_MERGE_FAILURES);
        LeastPrivilege.grantFunctions(validation.getRole(), storage);
        LeastPrivilege.grantKafka(validation.getRole(), config, produce, null, null);
        LeastPrivilege.grantScramSecret(validation.getRole(), config);
        LeastPrivilege.grantFunctions(kafkaIngress.getRole(), storage);
        LeastPrivilege.grantKafka(kafkaIngress.getRole(), config, produce, Contract.TOPIC_ADAPTER_UPLOADS,
                Contract.GROUP_FUNCTIONS);
        LeastPrivilege.grantScramSecret(kafkaIngress.getRole(), config);

        // S3 invokes the alias asynchronously: the retry setting belongs to the alias (a function-level
        // one would configure $LATEST, which nothing invokes)
        validationAlias = Alias.Builder.create(this, "ValidationLive").aliasName(ALIAS)
                .version(validation.getCurrentVersion()).retryAttempts(2).build();
        kafkaIngressAlias = Alias.Builder.create(this, "KafkaIngressLive").aliasName(ALIAS)
                .version(kafkaIngress.getCurrentVersion()).build();

        wireS3Notification(storage);
        wireKafkaSource(config, network, kafka);
    }

    private Function.Builder function(String id, String export, Code code, LogGroup logs, MergelineConfig config,
            Storage storage, Network network, KafkaClients kafka) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("QUARKUS_FUNQY_EXPORT", export);
        env.put("MERGELINE_BUCKET", storage.bucketName());
        env.put("MERGELINE_S3_REGION", Aws.REGION);
        env.putAll(kafka.lambdaEnvironment());
        return Function.Builder.create(this, id)
                .runtime(Runtime.JAVA_21)
                .architecture(config.functionArchitecture == MergelineConfig.FunctionArchitecture.ARM64
                        ? Architecture.ARM_64 : Architecture.X86_64)
                .handler(Contract.FUNQY_HANDLER)
                .code(code)
                .snapStart(SnapStartConf.ON_PUBLISHED_VERSIONS)
                .reservedConcurrentExecutions(config.functionReservedConcurrency)
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
                .functionName(validationAlias.getFunctionArn())
                .principal("s3.amazonaws.com")
                .sourceArn(storage.bucketArn())
                .sourceAccount(Aws.ACCOUNT_ID)
                .build();
        CfnBucket bucket = (CfnBucket) storage.bucket().getNode().getDefaultChild();
        // one configuration per completing file: same prefix, suffixes that do not overlap (S3 refuses overlaps)
        List<Object> configurations = COMPLETING_FILES.stream()
                .map(file -> (Object) CfnBucket.LambdaConfigurationProperty.builder()
                        .event("s3:ObjectCreated:*")
                        .function(validationAlias.getFunctionArn())
                        .filter(CfnBucket.NotificationFilterProperty.builder()
                                .s3Key(CfnBucket.S3KeyFilterProperty.builder()
                                        .rules(List.of(
                                                CfnBucket.FilterRuleProperty.builder()
                                                        .name("prefix").value(Contract.ADAPTERS).build(),
                                                CfnBucket.FilterRuleProperty.builder()
                                                        .name("suffix").value("/" + file).build()))
                                        .build())
                                .build())
                        .build())
                .toList();
        bucket.setNotificationConfiguration(CfnBucket.NotificationConfigurationProperty.builder()
                .lambdaConfigurations(configurations)
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
                    .batchSize(10)
                    .retryAttempts(config.kafkaRetryAttempts)
                    .maxRecordAge(Duration.seconds(config.kafkaMaxRecordAgeSeconds))
                    .bisectBatchOnError(true)
                    .onFailure(new SqsDlq(kafkaFailures))
                    .provisionedPollerConfig(pollers(config));
            if (scram) {
                b.secret(kafka.secret());
            }
            kafkaIngressAlias.addEventSource(b.build());
        } else {
            SelfManagedKafkaEventSource.Builder b = SelfManagedKafkaEventSource.Builder.create()
                    .bootstrapServers(List.of(config.kafkaBootstrapServers.split("\\s*,\\s*")))
                    .topic(Contract.TOPIC_ADAPTER_UPLOADS)
                    .consumerGroupId(Contract.GROUP_FUNCTIONS)
                    .startingPosition(StartingPosition.TRIM_HORIZON)
                    .batchSize(10)
                    .retryAttempts(config.kafkaRetryAttempts)
                    .maxRecordAge(Duration.seconds(config.kafkaMaxRecordAgeSeconds))
                    .bisectBatchOnError(true)
                    .onFailure(new SqsDlq(kafkaFailures))
                    .provisionedPollerConfig(pollers(config))
                    .vpc(network.vpc())
                    .vpcSubnets(network.privateSubnets())
                    .securityGroup(network.clients());
            if (scram) {
                b.secret(kafka.secret()).authenticationMethod(AuthenticationMethod.SASL_SCRAM_512_AUTH);
            }
            kafkaIngressAlias.addEventSource(b.build());
        }
    }

    private static ProvisionedPollerConfig pollers(MergelineConfig config) {
        return ProvisionedPollerConfig.builder().minimumPollers(1).maximumPollers(config.kafkaMaxPollers).build();
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

    /** Kafka records the event source mapping gave up on (retries or age exhausted). */
    public Queue kafkaFailures() {
        return kafkaFailures;
    }

    public Alias validationAlias() {
        return validationAlias;
    }

    public Alias kafkaIngressAlias() {
        return kafkaIngressAlias;
    }

    public LogGroup validationLogs() {
        return validationLogs;
    }

    public LogGroup kafkaIngressLogs() {
        return kafkaIngressLogs;
    }
}
