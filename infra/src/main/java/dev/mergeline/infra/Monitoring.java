package dev.mergeline.infra;

import java.util.List;
import java.util.Map;

import software.amazon.awscdk.Duration;
import software.amazon.awscdk.services.cloudwatch.Alarm;
import software.amazon.awscdk.services.cloudwatch.ComparisonOperator;
import software.amazon.awscdk.services.cloudwatch.IMetric;
import software.amazon.awscdk.services.cloudwatch.Metric;
import software.amazon.awscdk.services.cloudwatch.MetricOptions;
import software.amazon.awscdk.services.cloudwatch.TreatMissingData;
import software.amazon.awscdk.services.cloudwatch.actions.SnsAction;
import software.amazon.awscdk.services.events.EventPattern;
import software.amazon.awscdk.services.events.Rule;
import software.amazon.awscdk.services.events.targets.SnsTopic;
import software.amazon.awscdk.services.sns.Topic;
import software.amazon.awscdk.services.sns.subscriptions.EmailSubscription;
import software.constructs.Construct;

/**
 * Alarms, all sent to one SNS topic ({@code alarmEmail} subscribes an address): Lambda errors and
 * throttles of either function; S3 events the validation function gave up on (dead-letter queue) and
 * Kafka records the event source mapping gave up on (failure queue), by count and by age; the
 * mapping's offset lag; failed merges (the worker's {@code mergeline.merges} metric, published as EMF); worker
 * tasks that crash or fail to start (an EventBridge rule on ECS task state changes, which also
 * forwards each such event to the topic; the alarm fires when it repeats); worker tasks waiting for
 * GPU capacity (the capacity provider's reservation above 100 %).
 */
public final class Monitoring extends Construct {

    /** CloudWatch namespace of the worker's EMF metrics. */
    public static final String WORKER_METRIC_NAMESPACE = "Mergeline/Worker";
    /** {@code Service} dimension of the worker's EMF metrics. */
    public static final String WORKER_METRIC_SERVICE = "merge-worker";
    /** Finished merge jobs, dimension {@code outcome}: merged, reemitted, duplicate, rejected, failed, handed_back. */
    public static final String MERGES_METRIC = "mergeline.merges";

    /** Age of the oldest unread dead letter that pages (the queues keep 14 days). */
    static final Duration DEAD_LETTER_AGE_ALARM = Duration.days(3);
    /** Records of adapter-uploads still unprocessed after 15 minutes that page. */
    static final double OFFSET_LAG_ALARM = 100;

    private final Topic topic;

    public Monitoring(Construct scope, String id, MergelineConfig config, ValidationFunctions functions,
            MergeWorker worker) {
        super(scope, id);
        topic = Topic.Builder.create(this, "AlarmTopic")
                .displayName("Mergeline alarms")
                .enforceSsl(true)
                .build();
        if (config.alarmEmail != null) {
            topic.addSubscription(new EmailSubscription(config.alarmEmail));
        }
        SnsAction notify = new SnsAction(topic);
        MetricOptions fiveMinuteSum = MetricOptions.builder().period(Duration.minutes(5)).statistic("Sum").build();

        alarm("ValidationErrors", "Mergeline validation Lambda (S3 trigger) failed",
                functions.validation().metricErrors(fiveMinuteSum), 1, notify);
        alarm("KafkaIngressErrors", "Mergeline Kafka-ingress Lambda (adapter-uploads) failed",
                functions.kafkaIngress().metricErrors(fiveMinuteSum), 1, notify);
        MetricOptions fiveMinuteMax = MetricOptions.builder().period(Duration.minutes(5)).statistic("Maximum").build();
        alarm("ValidationDeadLetters", "S3 upload events the validation Lambda gave up on (see its dead-letter queue)",
                functions.deadLetters().metricApproximateNumberOfMessagesVisible(fiveMinuteMax), 1, notify);
        alarm("KafkaIngressFailedRecords", "adapter-uploads records the Kafka event source mapping gave up on "
                        + "(retries or record age exhausted; see the failure queue)",
                functions.kafkaFailures().metricApproximateNumberOfMessagesVisible(fiveMinuteMax), 1, notify);
        // Both queues keep messages 14 days: page well before one is lost unread.
        for (var q : Map.of("ValidationDeadLettersAge", functions.deadLetters(),
                "KafkaIngressFailedRecordsAge", functions.kafkaFailures()).entrySet()) {
            alarm(q.getKey(), "a message has waited " + DEAD_LETTER_AGE_ALARM.toHumanString() + " in "
                            + q.getValue().getNode().getId(),
                    q.getValue().metricApproximateAgeOfOldestMessage(fiveMinuteMax),
                    DEAD_LETTER_AGE_ALARM.toSeconds().doubleValue(), notify);
        }
        alarm("ValidationThrottles", "Mergeline validation Lambda throttled (reserved concurrency reached)",
                functions.validation().metricThrottles(fiveMinuteSum), 1, notify);
        alarm("KafkaIngressThrottles", "Mergeline Kafka-ingress Lambda throttled (reserved concurrency reached)",
                functions.kafkaIngress().metricThrottles(fiveMinuteSum), 1, notify);
        // Lambda's own lag metric of the Kafka mapping: records of adapter-uploads not yet processed.
        alarm("KafkaIngressOffsetLag", "adapter-uploads is not being consumed (event source mapping offset lag)",
                Metric.Builder.create().namespace("AWS/Lambda").metricName("OffsetLag")
                        .dimensionsMap(Map.of("FunctionName", functions.kafkaIngress().getFunctionName()))
                        .period(Duration.minutes(15)).statistic("Minimum").build(),
                OFFSET_LAG_ALARM, notify);
        // ECS managed scaling: reservation above 100 % means tasks wait in PROVISIONING for an instance
        // (no Spot or On-Demand capacity of any listed type, or the group at its maximum).
        alarm("WorkerWaitingForCapacity", "Mergeline worker tasks have waited 15 minutes for GPU capacity",
                Metric.Builder.create().namespace("AWS/ECS/ManagedScaling").metricName("CapacityProviderReservation")
                        .dimensionsMap(Map.of(
                                "CapacityProviderName", worker.capacity().getCapacityProviderName(),
                                "ClusterName", worker.cluster().getClusterName()))
                        .period(Duration.minutes(15)).statistic("Minimum").build(),
                100.5, notify);

        // The worker publishes its meters as CloudWatch Embedded Metric Format lines (MergeWorker sets
        // MERGELINE_METRICS_EMF_*): mergeline.merges counts finished jobs by outcome.
        alarm("MergeFailures", "The merge worker failed merges (merge.failed after its retries)",
                Metric.Builder.create().namespace(WORKER_METRIC_NAMESPACE).metricName(MERGES_METRIC)
                        .dimensionsMap(Map.of("Service", WORKER_METRIC_SERVICE, "outcome", "failed"))
                        .period(Duration.minutes(5)).statistic("Sum").build(),
                1, notify);

        Rule taskFailures = Rule.Builder.create(this, "WorkerTaskFailures")
                .description("Mergeline worker task crashed or failed to start")
                .eventPattern(EventPattern.builder()
                        .source(List.of("aws.ecs"))
                        .detailType(List.of("ECS Task State Change"))
                        .detail(Map.of(
                                "clusterArn", List.of(worker.cluster().getClusterArn()),
                                "group", List.of("service:" + worker.service().getServiceName()),
                                "lastStatus", List.of("STOPPED"),
                                "stopCode", List.of("EssentialContainerExited", "TaskFailedToStart")))
                        .build())
                .targets(List.of(new SnsTopic(topic)))
                .build();
        alarm("WorkerTaskRestarts", "Mergeline merge worker tasks keep crashing or failing to start",
                Metric.Builder.create().namespace("AWS/Events").metricName("TriggeredRules")
                        .dimensionsMap(Map.of("RuleName", taskFailures.getRuleName()))
                        .period(Duration.minutes(15)).statistic("Sum").build(),
                2, notify);
    }

    private void alarm(String id, String description, IMetric metric, double threshold, SnsAction action) {
        Alarm alarm = Alarm.Builder.create(this, id)
                .alarmDescription(description)
                .metric(metric)
                .threshold(threshold)
                .evaluationPeriods(1)
                .comparisonOperator(ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
                .treatMissingData(TreatMissingData.NOT_BREACHING)
                .build();
        alarm.addAlarmAction(action);
    }

    public Topic topic() {
        return topic;
    }
}
