package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;
import software.amazon.awscdk.services.applicationautoscaling.ScalingInterval;

class WorkerTest {

    @Test
    void taskDefinitionRequestsOneGpuAndCarriesTheWorkerConfiguration() {
        Template t = Synth.msk();
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Map.of(
                "RequiresCompatibilities", List.of("EC2"),
                "NetworkMode", "awsvpc",
                "ContainerDefinitions", List.of(Match.objectLike(Map.of(
                        "ResourceRequirements", List.of(Map.of("Type", "GPU", "Value", "1")),
                        "Image", Match.objectLike(Map.of("Fn::Join", List.of("", Match.arrayWith(List.of(
                                "/mergeline/merge-worker:0.1.0-cuda"))))),
                        "Environment", Match.arrayWith(List.of(
                                Map.of("Name", "MERGELINE_BUCKET", "Value", "mergeline"),
                                Map.of("Name", "MERGELINE_S3_REGION", "Value", Map.of("Ref", "AWS::Region")),
                                Map.of("Name", "MERGELINE_WORKER_SCRATCH_DIR", "Value", "/tmp/mergeline-worker"),
                                Map.of("Name", "KAFKA_BOOTSTRAP_SERVERS", "Value", Synth.BOOTSTRAP),
                                Map.of("Name", "KAFKA_SASL_MECHANISM", "Value", "AWS_MSK_IAM"))),
                        "MountPoints", List.of(Map.of("ContainerPath", "/tmp", "SourceVolume", "scratch",
                                "ReadOnly", false)),
                        "LogConfiguration", Match.objectLike(Map.of("LogDriver", "awslogs")),
                        "StopTimeout", 120))),
                "Volumes", List.of(Map.of("Name", "scratch", "DockerVolumeConfiguration",
                        Map.of("Driver", "local", "Scope", "task")))));
    }

    @Test
    void scramCredentialsReachTheWorkerOnlyThroughEcsSecrets() {
        Template t = Synth.variant();
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Map.of(
                "ContainerDefinitions", List.of(Match.objectLike(Map.of(
                        "Environment", Match.arrayWith(List.of(
                                Map.of("Name", "KAFKA_SECURITY_PROTOCOL", "Value", "SASL_SSL"),
                                Map.of("Name", "KAFKA_SASL_MECHANISM", "Value", "SCRAM-SHA-512"))),
                        "Secrets", List.of(
                                Map.of("Name", "MERGELINE_KAFKA_USERNAME", "ValueFrom", Synth.SECRET_ARN + ":username::"),
                                Map.of("Name", "MERGELINE_KAFKA_PASSWORD",
                                        "ValueFrom", Synth.SECRET_ARN + ":password::")))))));
        String env = String.valueOf(Cfn.resources(t, "AWS::ECS::TaskDefinition").values().iterator().next()
                .get("ContainerDefinitions"));
        assertTrue(!env.contains("{{resolve:"), "the task definition must not resolve the secret itself");
    }

    @Test
    void capacityProviderRunsGpuInstancesFromTheEcsGpuAmi() {
        Template t = Synth.msk();
        t.hasResourceProperties("AWS::EC2::LaunchTemplate", Map.of("LaunchTemplateData", Match.objectLike(Map.of(
                "InstanceType", "g5.xlarge",
                "MetadataOptions", Map.of("HttpTokens", "required", "HttpPutResponseHopLimit", 1),
                "BlockDeviceMappings", List.of(Map.of("DeviceName", "/dev/xvda", "Ebs", Map.of(
                        "DeleteOnTermination", true, "Encrypted", true, "VolumeSize", 200,
                        "VolumeType", "gp3")))))));
        assertTrue(gpuAmiParameter(t).contains("/ecs/optimized-ami/amazon-linux-2023/gpu/"), gpuAmiParameter(t));
        String userData = Cfn.render(((Map<?, ?>) ((Map<?, ?>) Cfn.resources(t, "AWS::EC2::LaunchTemplate").values()
                .iterator().next().get("LaunchTemplateData")).get("UserData")).get("Fn::Base64"));
        assertTrue(userData.contains("ECS_CLUSTER=") && userData.contains("ECS_AWSVPC_BLOCK_IMDS=true"), userData);
        t.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", Map.of(
                "MinSize", "0", "MaxSize", "2", "NewInstancesProtectedFromScaleIn", true));
        t.hasResourceProperties("AWS::ECS::CapacityProvider", Map.of("AutoScalingGroupProvider", Map.of(
                "AutoScalingGroupArn", Match.anyValue(),
                "ManagedScaling", Match.objectLike(Map.of("Status", "ENABLED")),
                "ManagedTerminationProtection", "ENABLED")));
        String provider = Cfn.resources(t, "AWS::ECS::CapacityProvider").keySet().iterator().next();
        t.hasResourceProperties("AWS::ECS::Service", Map.of(
                "CapacityProviderStrategy", List.of(Map.of("CapacityProvider", Map.of("Ref", provider),
                        "Weight", 1)),
                "DesiredCount", 0,
                "DeploymentConfiguration", Match.objectLike(Map.of("MinimumHealthyPercent", 0,
                        "MaximumPercent", 100))));
        // g6 and the Amazon Linux 2 GPU AMI on request
        Template v = Synth.variant();
        v.hasResourceProperties("AWS::EC2::LaunchTemplate", Map.of("LaunchTemplateData",
                Match.objectLike(Map.of("InstanceType", "g6.xlarge"))));
        assertTrue(gpuAmiParameter(v).contains("/ecs/optimized-ami/amazon-linux-2/gpu/"), gpuAmiParameter(v));
    }

    @Test
    void serviceScalesOnConsumerLagOfTheWorkerGroup() {
        Template t = Synth.msk();
        t.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", Map.of(
                "ScalableDimension", "ecs:service:DesiredCount",
                "MinCapacity", 0,
                "MaxCapacity", 2));
        Map<String, Object> lagAlarm = Map.of(
                "Namespace", "AWS/Kafka",
                "MetricName", "SumOffsetLag",
                "Dimensions", List.of(
                        Map.of("Name", "Cluster Name", "Value", "mergeline-kafka"),
                        Map.of("Name", "Consumer Group", "Value", "mergeline-worker"),
                        Map.of("Name", "Topic", "Value", "merge-requests")),
                "Period", 60);
        // upper alarm: any waiting request starts a worker; lower alarm: lag 0 scales to the minimum
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Match.objectLike(merge(lagAlarm, Map.of(
                "ComparisonOperator", "GreaterThanOrEqualToThreshold", "Threshold", 1))));
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Match.objectLike(merge(lagAlarm, Map.of(
                "ComparisonOperator", "LessThanOrEqualToThreshold", "Threshold", 0.5))));
        t.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", Map.of(
                "PolicyType", "StepScaling",
                "StepScalingPolicyConfiguration", Match.objectLike(Map.of(
                        "AdjustmentType", "ExactCapacity",
                        "StepAdjustments", List.of(
                                Map.of("MetricIntervalLowerBound", 0, "MetricIntervalUpperBound", 4,
                                        "ScalingAdjustment", 1),
                                Map.of("MetricIntervalLowerBound", 4, "ScalingAdjustment", 2))))));
        t.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", Map.of(
                "StepScalingPolicyConfiguration", Match.objectLike(Map.of(
                        "AdjustmentType", "ExactCapacity",
                        "StepAdjustments", List.of(Map.of("MetricIntervalUpperBound", 0,
                                "ScalingAdjustment", 0))))));
        // self-managed Kafka: same metric name and dimensions (no cluster) in the configured namespace
        Synth.variant().hasResourceProperties("AWS::CloudWatch::Alarm", Match.objectLike(Map.of(
                "Namespace", "Mergeline/Kafka",
                "MetricName", "SumOffsetLag",
                "Dimensions", List.of(
                        Map.of("Name", "Consumer Group", "Value", "mergeline-worker"),
                        Map.of("Name", "Topic", "Value", "merge-requests")))));
    }

    @Test
    void scalingStepsMapLagToTaskCounts() {
        MergelineConfig c = Synth.mskConfig().workerMinTasks(1).workerMaxTasks(4).workerLagPerTask(3).build();
        List<ScalingInterval> steps = MergeWorker.scalingSteps(c);
        assertEquals(5, steps.size());
        assertEquals(0.5, steps.get(0).getUpper().doubleValue());
        assertEquals(1, steps.get(0).getChange().intValue());
        assertEquals(List.of(1.0, 3.0, 6.0, 9.0), steps.subList(1, 5).stream()
                .map(s -> s.getLower().doubleValue()).toList());
        assertEquals(List.of(1, 2, 3, 4), steps.subList(1, 5).stream().map(s -> s.getChange().intValue()).toList());
        // lagPerTask 1 still yields strictly increasing bounds
        List<ScalingInterval> dense = MergeWorker.scalingSteps(
                Synth.mskConfig().workerMaxTasks(3).workerLagPerTask(1).build());
        assertEquals(List.of(1.0, 2.0, 3.0), dense.subList(1, 4).stream().map(s -> s.getLower().doubleValue())
                .toList());
        // many tasks: at most 10 steps, the last one reaches the maximum
        List<ScalingInterval> many = MergeWorker.scalingSteps(Synth.mskConfig().workerMaxTasks(40).build());
        assertEquals(11, many.size());
        assertEquals(40, many.get(10).getChange().intValue());
    }

    @Test
    void workerLogsAreKeptForTheConfiguredTime() {
        Template t = Synth.msk();
        t.resourceCountIs("AWS::Logs::LogGroup", 3);
        t.allResourcesProperties("AWS::Logs::LogGroup", Map.of("RetentionInDays", 30));
    }

    @SuppressWarnings("unchecked")
    private static String gpuAmiParameter(Template t) {
        Map<String, Object> params = (Map<String, Object>) Synth.json(t).get("Parameters");
        return params.values().stream().map(p -> String.valueOf(((Map<String, Object>) p).get("Default")))
                .filter(d -> d.contains("optimized-ami")).findFirst().orElse("none");
    }

    private static Map<String, Object> merge(Map<String, Object> a, Map<String, Object> b) {
        var m = new java.util.LinkedHashMap<String, Object>(a);
        m.putAll(b);
        return m;
    }
}
