package dev.mergeline.infra;

import java.util.List;
import java.util.Map;

import software.amazon.awscdk.Annotations;
import software.amazon.awscdk.CfnOutput;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.Tags;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.constructs.Construct;

/** Everything Mergeline needs on AWS except Kafka: see docs/deploy-aws.md. */
public final class MergelineStack extends Stack {

    private static final Map<Integer, RetentionDays> RETENTION = Map.ofEntries(
            Map.entry(1, RetentionDays.ONE_DAY), Map.entry(3, RetentionDays.THREE_DAYS),
            Map.entry(5, RetentionDays.FIVE_DAYS), Map.entry(7, RetentionDays.ONE_WEEK),
            Map.entry(14, RetentionDays.TWO_WEEKS), Map.entry(30, RetentionDays.ONE_MONTH),
            Map.entry(60, RetentionDays.TWO_MONTHS), Map.entry(90, RetentionDays.THREE_MONTHS),
            Map.entry(120, RetentionDays.FOUR_MONTHS), Map.entry(150, RetentionDays.FIVE_MONTHS),
            Map.entry(180, RetentionDays.SIX_MONTHS), Map.entry(365, RetentionDays.ONE_YEAR),
            Map.entry(400, RetentionDays.THIRTEEN_MONTHS), Map.entry(545, RetentionDays.EIGHTEEN_MONTHS),
            Map.entry(731, RetentionDays.TWO_YEARS), Map.entry(1827, RetentionDays.FIVE_YEARS),
            Map.entry(3653, RetentionDays.TEN_YEARS));

    private final Storage storage;
    private final ValidationFunctions functions;
    private final MergeWorker worker;
    private final Monitoring monitoring;

    public MergelineStack(Construct scope, String id, StackProps props, MergelineConfig config) {
        super(scope, id, props);
        RetentionDays retention = RETENTION.get(config.logRetentionDays);
        if (retention == null) {
            throw new IllegalArgumentException("logRetentionDays must be one of CloudWatch's values "
                    + RETENTION.keySet().stream().sorted().toList() + ", got " + config.logRetentionDays);
        }
        List<String> placeholders = config.placeholders();
        if (!placeholders.isEmpty()) {
            // Synthesis still works (to inspect cdk.out); `cdk deploy` refuses stacks with errors.
            Annotations.of(this).addError("replace the example values of " + placeholders
                    + " (cdk.json context or -c key=value) before deploying");
        }

        Network network = new Network(this, "Network", config);
        storage = new Storage(this, "Storage", config);
        KafkaClients kafka = new KafkaClients(this, config);
        functions = new ValidationFunctions(this, "Functions", config, storage, network, kafka, retention);
        worker = new MergeWorker(this, "Worker", config, storage, network, kafka, functions, retention);
        monitoring = new Monitoring(this, "Monitoring", config, functions, worker);
        Tags.of(this).add("project", "mergeline");
        Tags.of(network).add("mergeline:component", "network");
        Tags.of(storage).add("mergeline:component", "storage");
        Tags.of(functions).add("mergeline:component", "functions");
        Tags.of(worker).add("mergeline:component", "worker");
        Tags.of(monitoring).add("mergeline:component", "monitoring");
        config.tags.forEach((k, v) -> Tags.of(this).add(k, v));

        output("BucketName", storage.bucketName());
        output("ValidationFunctionName", functions.validation().getFunctionName());
        output("KafkaIngressFunctionName", functions.kafkaIngress().getFunctionName());
        output("ValidationDeadLetterQueueUrl", functions.deadLetters().getQueueUrl());
        output("WorkerClusterName", worker.cluster().getClusterName());
        output("WorkerServiceName", worker.service().getServiceName());
        output("WorkerLogGroup", worker.logs().getLogGroupName());
        output("AlarmTopicArn", monitoring.topic().getTopicArn());
    }

    private void output(String id, String value) {
        CfnOutput.Builder.create(this, id).value(value).build();
    }

    public Storage storage() {
        return storage;
    }

    public ValidationFunctions functions() {
        return functions;
    }

    public MergeWorker worker() {
        return worker;
    }

    public Monitoring monitoring() {
        return monitoring;
    }
}
