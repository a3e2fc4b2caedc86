package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

class MonitoringTest {

    @Test
    void lambdaErrorAlarmsNotifyTheAlarmTopic() {
        Template t = Synth.msk();
        String topic = Cfn.resources(t, "AWS::SNS::Topic").keySet().iterator().next();
        for (String export : List.of("s3Trigger", "kafkaTrigger")) {
            t.hasResourceProperties("AWS::CloudWatch::Alarm", Map.of(
                    "Namespace", "AWS/Lambda",
                    "MetricName", "Errors",
                    "Dimensions", List.of(Map.of("Name", "FunctionName",
                            "Value", Map.of("Ref", Cfn.functionLogicalId(t, export)))),
                    "ComparisonOperator", "GreaterThanOrEqualToThreshold",
                    "Threshold", 1,
                    "AlarmActions", List.of(Map.of("Ref", topic))));
        }
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Map.of(
                "Namespace", "AWS/SQS",
                "MetricName", "ApproximateNumberOfMessagesVisible",
                "AlarmActions", List.of(Map.of("Ref", topic))));
    }

    @Test
    void failedMergesAlarmOnTheMetricTheWorkerPublishes() {
        Template t = Synth.msk();
        String worker = Cfn.resources(t, "AWS::ECS::TaskDefinition").values().stream()
                .map(String::valueOf).filter(s -> s.contains("awslogs-group")).findFirst().orElseThrow();
        // The worker prints EMF lines only when told to, in the namespace and Service the alarm reads.
        assertTrue(worker.contains("{Name=MERGELINE_METRICS_EMF_ENABLED, Value=true}"), worker);
        assertTrue(worker.contains("{Name=MERGELINE_METRICS_EMF_NAMESPACE, Value=Mergeline/Worker}"), worker);
        assertTrue(worker.contains("{Name=MERGELINE_METRICS_EMF_SERVICE, Value=merge-worker}"), worker);
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Map.of(
                "Namespace", "Mergeline/Worker", "MetricName", "mergeline.merges",
                "Dimensions", Match.arrayEquals(List.of(
                        Map.of("Name", "Service", "Value", "merge-worker"),
                        Map.of("Name", "outcome", "Value", "failed"))),
                "Statistic", "Sum", "Threshold", 1));
        // Log text is not a metric: nothing counts log lines.
        assertTrue(Cfn.resources(t, "AWS::Logs::MetricFilter").isEmpty());
    }

    @Test
    void crashingWorkerTasksAreReportedAndAlarmed() {
        Template t = Synth.msk();
        String topic = Cfn.resources(t, "AWS::SNS::Topic").keySet().iterator().next();
        t.hasResourceProperties("AWS::Events::Rule", Map.of(
                "EventPattern", Map.of(
                        "source", List.of("aws.ecs"),
                        "detail-type", List.of("ECS Task State Change"),
                        "detail", Match.objectLike(Map.of(
                                "lastStatus", List.of("STOPPED"),
                                "stopCode", List.of("EssentialContainerExited", "TaskFailedToStart")))),
                "Targets", List.of(Match.objectLike(Map.of("Arn", Map.of("Ref", topic))))));
        String rule = Cfn.resources(t, "AWS::Events::Rule").keySet().iterator().next();
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Map.of(
                "Namespace", "AWS/Events",
                "MetricName", "TriggeredRules",
                "Dimensions", List.of(Map.of("Name", "RuleName", "Value", Map.of("Ref", rule))),
                "AlarmActions", List.of(Map.of("Ref", topic))));
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyTaggableResourceCarriesProjectComponentAndTheGivenTags() {
        Template t = Synth.variant();
        Map<String, String> expectedComponent = Map.of(
                "AWS::Lambda::Function", "functions", "AWS::SQS::Queue", "functions",
                "AWS::S3::Bucket", "storage", "AWS::ECS::Cluster", "worker", "AWS::ECS::Service", "worker",
                "AWS::AutoScaling::AutoScalingGroup", "worker", "AWS::SNS::Topic", "monitoring",
                "AWS::EC2::VPCEndpoint", "network");
        expectedComponent.forEach((type, component) -> {
            assertTrue(!Cfn.resources(t, type).isEmpty(), type);
            for (Map<String, Object> r : Cfn.resources(t, type).values()) {
                String tags = String.valueOf(r.get("Tags"));
                assertTrue(tags.contains("Key=project") && tags.contains("Value=mergeline"), type + ": " + tags);
                assertTrue(tags.contains("Key=mergeline:component") && tags.contains("Value=" + component),
                        type + ": " + tags);
                assertTrue(tags.contains("Key=cost-center") && tags.contains("Value=ml-platform"), type + ": " + tags);
            }
        });
        MergelineConfig c = MergelineConfig.fromContext(Map.<String, Object>of("mskClusterArn", Synth.CLUSTER_ARN,
                "kafkaBootstrapServers", Synth.BOOTSTRAP, "tags", "owner=ml, env = prod")::get, java.nio.file.Path.of("."));
        assertEquals(Map.of("owner", "ml", "env", "prod"), c.tags);
    }

    @Test
    void everyFailureAlarmNotifiesAndTheTopicIsTlsOnly() {
        Template t = Synth.msk();
        String topic = Cfn.resources(t, "AWS::SNS::Topic").keySet().iterator().next();
        long notifying = Cfn.resources(t, "AWS::CloudWatch::Alarm").values().stream()
                .filter(a -> String.valueOf(a.get("AlarmActions")).contains(topic)).count();
        // Lambda errors ×2, throttles ×2, dead letters and failed Kafka records (count and age each),
        // Kafka mapping lag, merge failures, crashing tasks, tasks waiting for GPU capacity
        assertEquals(12, notifying);
        t.hasResourceProperties("AWS::SNS::TopicPolicy", Map.of("PolicyDocument", Map.of("Statement",
                Match.arrayWith(List.of(Match.objectLike(Map.of("Effect", "Deny",
                        "Condition", Map.of("Bool", Map.of("aws:SecureTransport", "false")))))))));
        t.resourceCountIs("AWS::SNS::Subscription", 0);
        Synth.variant().hasResourceProperties("AWS::SNS::Subscription", Map.of(
                "Protocol", "email", "Endpoint", "oncall@example.com"));
    }
}
