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
        assertTrue(userData.contains("ECS_ENABLE_SPOT_INSTANCE_DRAINING=true"), userData);
        t.hasResourceProperties("AWS::ECS::CapacityProvider", Map.of("AutoScalingGroupProvider", Map.of(
                "AutoScalingGroupArn", Match.anyValue(),
                "ManagedScaling", Match.objectLike(Map.of("Status", "ENABLED")),
                "ManagedTerminationProtection", "ENABLED")));
        String provider = Cfn.resources(t, "AWS::ECS::CapacityProvider").keySet().iterator().next();
        t.hasResourceProperties("AWS::ECS::Service", Map.of(
                "CapacityProviderStrategy", List.of(Map.of("CapacityProvider", Map.of("Ref", provider),
                        "Weight", 1)),
                "DeploymentConfiguration", Match.objectLike(Map.of("MinimumHealthyPercent", 0,
                        "MaximumPercent", 100))));
        // the Amazon Linux 2 GPU AMI on request
        Template v = Synth.variant();
        assertTrue(gpuAmiParameter(v).contains("/ecs/optimized-ami/amazon-linux-2/gpu/"), gpuAmiParameter(v));
    }

    @Test
    @SuppressWarnings("unchecked")
    void healthCheckProbesTheWorkersLivenessEndpoint() throws Exception {
        Map<String, Object> td = Cfn.resources(Synth.msk(), "AWS::ECS::TaskDefinition").values().iterator().next();
        Map<String, Object> container = ((List<Map<String, Object>>) td.get("ContainerDefinitions")).get(0);
        Map<String, Object> check = (Map<String, Object>) container.get("HealthCheck");
        List<String> command = (List<String>) check.get("Command");
        assertEquals(List.of("CMD", "bash", "-c"), command.subList(0, 3));
        String script = command.get(3);
        assertTrue(script.contains("/dev/tcp/127.0.0.1/8080"), script);
        // the worker serves /q/health (quarkus-smallrye-health) on Quarkus' default port
        String workerPom = java.nio.file.Files.readString(java.nio.file.Path.of(
                System.getProperty("mergeline.infra.dir", "."), "../merge-engine/worker/pom.xml"));
        assertTrue(workerPom.contains("<artifactId>quarkus-smallrye-health</artifactId>"));
        // run the template's own script against a local server standing in for the worker
        java.util.concurrent.atomic.AtomicInteger status = new java.util.concurrent.atomic.AtomicInteger(200);
        List<String> paths = new java.util.concurrent.CopyOnWriteArrayList<>();
        com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            paths.add(ex.getRequestURI().getPath());
            byte[] body = "{\"status\":\"UP\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status.get(), body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        String local = script.replace("/8080", "/" + server.getAddress().getPort());
        try {
            assertEquals(0, bash(local), "healthy worker reported unhealthy");
            status.set(503); // a DOWN check
            assertTrue(bash(local) != 0, "a DOWN worker passed the health check");
        } finally {
            server.stop(0);
        }
        assertEquals(List.of("/q/health/live", "/q/health/live"), paths);
        assertTrue(bash(local) != 0, "no worker listening passed the health check");
        assertTrue(((Number) check.get("StartPeriod")).intValue() >= 60, "JVM + ONNX Runtime start needs a grace period");
    }

    private static int bash(String script) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS));
        return p.exitValue();
    }

    @Test
    void theWorkerMayProtectOnlyTasksOfItsOwnCluster() {
        Template t = Synth.msk();
        String cluster = Cfn.resources(t, "AWS::ECS::Cluster").keySet().iterator().next();
        List<Cfn.Statement> protection = Cfn.roleStatements(t, Cfn.workerTaskRole(t)).stream()
                .filter(st -> st.hasAction("ecs:UpdateTaskProtection")).toList();
        assertEquals(1, protection.size(), protection.toString());
        assertEquals(List.of("ecs:UpdateTaskProtection", "ecs:GetTaskProtection"), protection.get(0).actions());
        assertEquals(List.of("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/${" + cluster + "}/*"),
                protection.get(0).resources());
    }

    @Test
    void applicationAutoScalingAloneOwnsTheTaskCount() {
        for (Template t : List.of(Synth.msk(), Synth.variant())) {
            // CloudFormation would reset a DesiredCount to its template value on every stack update,
            // stopping merges in flight (minimum healthy 0 %)
            Map<String, Object> service = Cfn.resources(t, "AWS::ECS::Service").values().iterator().next();
            assertTrue(!service.containsKey("DesiredCount"), "DesiredCount in the service: " + service);
            t.resourceCountIs("AWS::ApplicationAutoScaling::ScalableTarget", 1);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void gpuCapacityMixesTypesWithSpotAboveAnOnDemandBase() {
        Template t = Synth.msk();
        MergelineConfig defaults = Synth.mskConfig().build();
        Map<String, Object> asg = Cfn.resources(t, "AWS::AutoScaling::AutoScalingGroup").values().iterator().next();
        assertEquals(true, asg.get("CapacityRebalance"));
        Map<String, Object> mixed = (Map<String, Object>) asg.get("MixedInstancesPolicy");
        List<Map<String, Object>> overrides = (List<Map<String, Object>>) ((Map<String, Object>) mixed
                .get("LaunchTemplate")).get("Overrides");
        List<Object> types = overrides.stream().map(o -> o.get("InstanceType")).toList();
        assertTrue(types.size() >= 2, "one GPU type leaves no fallback: " + types);
        assertEquals(defaults.workerInstanceTypes, types);
        // every type is a GPU instance family the task's one GPU and the ECS GPU AMI can use
        types.forEach(type -> assertTrue(String.valueOf(type).matches("(g4dn|g5|g6|g6e|p[345][a-z]*)\\..+"),
                "not a GPU type: " + type));
        Map<String, Object> distribution = (Map<String, Object>) mixed.get("InstancesDistribution");
        assertEquals(defaults.workerOnDemandBase, distribution.get("OnDemandBaseCapacity"));
        assertEquals(0, distribution.get("OnDemandPercentageAboveBaseCapacity"));
        assertEquals("price-capacity-optimized", distribution.get("SpotAllocationStrategy"));
        // the launch template carries the AMI and user data for every override
        String lt = Cfn.resources(t, "AWS::EC2::LaunchTemplate").keySet().iterator().next();
        assertEquals(Map.of("Ref", lt), ((Map<String, Object>) ((Map<String, Object>) mixed.get("LaunchTemplate"))
                .get("LaunchTemplateSpecification")).get("LaunchTemplateId"));
        // an alarm when tasks wait for an instance that does not come (no capacity of any listed type)
        String provider = Cfn.resources(t, "AWS::ECS::CapacityProvider").keySet().iterator().next();
        String cluster = Cfn.resources(t, "AWS::ECS::Cluster").keySet().iterator().next();
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Map.of(
                "Namespace", "AWS/ECS/ManagedScaling",
                "MetricName", "CapacityProviderReservation",
                "Dimensions", Match.arrayWith(List.of(
                        Map.of("Name", "CapacityProviderName", "Value", Map.of("Ref", provider)),
                        Map.of("Name", "ClusterName", "Value", Map.of("Ref", cluster)))),
                "ComparisonOperator", "GreaterThanOrEqualToThreshold",
                "Threshold", Match.anyValue(),
                "AlarmActions", Match.anyValue()));
        Synth.variant().hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", Map.of("MixedInstancesPolicy",
                Match.objectLike(Map.of("LaunchTemplate", Match.objectLike(Map.of("Overrides",
                        List.of(Map.of("InstanceType", "g6.xlarge"), Map.of("InstanceType", "g6e.xlarge"))))))));
    }

    @Test
    @SuppressWarnings("unchecked")
    void scalingStartsAWorkerForAFreshConsumerGroup() {
        Template t = Synth.msk();
        // both step-scaling alarms evaluate the same expression
        List<Map<String, Object>> alarms = Cfn.resources(t, "AWS::CloudWatch::Alarm").values().stream()
                .filter(a -> a.containsKey("Metrics")).toList();
        assertEquals(2, alarms.size());
        for (Map<String, Object> alarm : alarms) {
            List<Map<String, Object>> metrics = (List<Map<String, Object>>) alarm.get("Metrics");
            Map<String, Map<String, Object>> byId = new java.util.LinkedHashMap<>();
            metrics.forEach(m -> byId.put((String) m.get("Id"), m));
            String expression = metrics.stream().filter(m -> m.containsKey("Expression"))
                    .map(m -> (String) m.get("Expression")).findFirst().orElseThrow();
            // the lag rules where it exists; where MSK publishes none (no committed offset) the functions'
            // invocations stand in, so the first request of a fresh group still starts a worker
            assertTrue(expression.matches("IF\\(FILL\\(lag, -1\\) < 0, IF\\(.*inv0.*inv1.* > 0, 1, 0\\), lag\\)"),
                    expression);
            Map<String, Object> lagStat = (Map<String, Object>) byId.get("lag").get("MetricStat");
            assertEquals("SumOffsetLag", ((Map<String, Object>) lagStat.get("Metric")).get("MetricName"));
            List<Object> invoked = new java.util.ArrayList<>();
            for (String id : List.of("inv0", "inv1")) {
                Map<String, Object> stat = (Map<String, Object>) byId.get(id).get("MetricStat");
                Map<String, Object> metric = (Map<String, Object>) stat.get("Metric");
                assertEquals("Invocations", metric.get("MetricName"));
                assertEquals("Sum", stat.get("Stat"));
                invoked.add(((List<Map<String, Object>>) metric.get("Dimensions")).get(0).get("Value"));
                // CloudWatch alarms need one period for all metrics of an expression
                assertEquals(lagStat.get("Period"), stat.get("Period"));
            }
            assertEquals(List.of(Map.of("Ref", Cfn.functionLogicalId(t, Contract.EXPORT_S3)),
                    Map.of("Ref", Cfn.functionLogicalId(t, Contract.EXPORT_KAFKA))), invoked);
            // one datapoint suffices: a single upload in one period must start a worker
            assertEquals(1, alarm.get("DatapointsToAlarm"));
        }
    }

    @Test
    void serviceScalesOnConsumerLagOfTheWorkerGroup() {
        Template t = Synth.msk();
        t.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", Map.of(
                "ScalableDimension", "ecs:service:DesiredCount",
                "MinCapacity", 0,
                "MaxCapacity", 2));
        Map<String, Object> lag = Map.of("Id", "lag", "ReturnData", false, "MetricStat", Map.of(
                "Metric", Map.of(
                        "Namespace", "AWS/Kafka",
                        "MetricName", "SumOffsetLag",
                        "Dimensions", List.of(
                                Map.of("Name", "Cluster Name", "Value", "mergeline-kafka"),
                                Map.of("Name", "Consumer Group", "Value", "mergeline-worker"),
                                Map.of("Name", "Topic", "Value", "merge-requests"))),
                "Period", 300, "Stat", "Maximum"));
        // upper alarm: any waiting request starts a worker; lower alarm: lag 0 scales to the minimum
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Map.of("Metrics", Match.arrayWith(List.of(lag)),
                "ComparisonOperator", "GreaterThanOrEqualToThreshold", "Threshold", 1));
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Map.of("Metrics", Match.arrayWith(List.of(lag)),
                "ComparisonOperator", "LessThanOrEqualToThreshold", "Threshold", 0.5));
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
        Synth.variant().hasResourceProperties("AWS::CloudWatch::Alarm", Map.of("Metrics", Match.arrayWith(List.of(
                Match.objectLike(Map.of("Id", "lag", "MetricStat", Match.objectLike(Map.of("Metric", Map.of(
                        "Namespace", "Mergeline/Kafka",
                        "MetricName", "SumOffsetLag",
                        "Dimensions", List.of(
                                Map.of("Name", "Consumer Group", "Value", "mergeline-worker"),
                                Map.of("Name", "Topic", "Value", "merge-requests")))))))))));
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
