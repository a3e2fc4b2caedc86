package dev.mergeline.infra;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import software.amazon.awscdk.ArnComponents;
import software.amazon.awscdk.ArnFormat;
import software.amazon.awscdk.Aws;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.services.applicationautoscaling.AdjustmentType;
import software.amazon.awscdk.services.applicationautoscaling.BasicStepScalingPolicyProps;
import software.amazon.awscdk.services.applicationautoscaling.EnableScalingProps;
import software.amazon.awscdk.services.applicationautoscaling.ScalingInterval;
import software.amazon.awscdk.services.autoscaling.AutoScalingGroup;
import software.amazon.awscdk.services.autoscaling.InstancesDistribution;
import software.amazon.awscdk.services.autoscaling.LaunchTemplateOverrides;
import software.amazon.awscdk.services.autoscaling.MixedInstancesPolicy;
import software.amazon.awscdk.services.autoscaling.OnDemandAllocationStrategy;
import software.amazon.awscdk.services.autoscaling.SpotAllocationStrategy;
import software.amazon.awscdk.services.cloudwatch.IMetric;
import software.amazon.awscdk.services.cloudwatch.MathExpression;
import software.amazon.awscdk.services.cloudwatch.Metric;
import software.amazon.awscdk.services.cloudwatch.MetricOptions;
import software.amazon.awscdk.services.ec2.BlockDevice;
import software.amazon.awscdk.services.ec2.BlockDeviceVolume;
import software.amazon.awscdk.services.ec2.EbsDeviceOptions;
import software.amazon.awscdk.services.ec2.EbsDeviceVolumeType;
import software.amazon.awscdk.services.ec2.InstanceType;
import software.amazon.awscdk.services.ec2.LaunchTemplate;
import software.amazon.awscdk.services.ec2.SecurityGroup;
import software.amazon.awscdk.services.ec2.UserData;
import software.amazon.awscdk.services.ecr.Repository;
import software.amazon.awscdk.services.ecs.AmiHardwareType;
import software.amazon.awscdk.services.ecs.AsgCapacityProvider;
import software.amazon.awscdk.services.ecs.AwsLogDriverProps;
import software.amazon.awscdk.services.ecs.CapacityProviderStrategy;
import software.amazon.awscdk.services.ecs.Cluster;
import software.amazon.awscdk.services.ecs.ContainerDefinition;
import software.amazon.awscdk.services.ecs.ContainerDefinitionOptions;
import software.amazon.awscdk.services.ecs.ContainerImage;
import software.amazon.awscdk.services.ecs.DeploymentCircuitBreaker;
import software.amazon.awscdk.services.ecs.DockerVolumeConfiguration;
import software.amazon.awscdk.services.ecs.Ec2Service;
import software.amazon.awscdk.services.ecs.Ec2TaskDefinition;
import software.amazon.awscdk.services.ecs.HealthCheck;
import software.amazon.awscdk.services.ecs.EcsOptimizedImage;
import software.amazon.awscdk.services.ecs.LogDrivers;
import software.amazon.awscdk.services.ecs.MountPoint;
import software.amazon.awscdk.services.ecs.NetworkMode;
import software.amazon.awscdk.services.ecs.Scope;
import software.amazon.awscdk.services.ecs.Volume;
import software.amazon.awscdk.services.iam.Effect;
import software.amazon.awscdk.services.iam.PolicyStatement;
import software.amazon.awscdk.services.iam.Role;
import software.amazon.awscdk.services.iam.ServicePrincipal;
import software.amazon.awscdk.services.logs.LogGroup;
import software.amazon.awscdk.services.logs.RetentionDays;
import software.constructs.Construct;

/**
 * The GPU merge worker: an ECS cluster whose only capacity is an Auto Scaling group of GPU
 * instances (several types, an On-Demand base and Spot above it, capacity rebalancing; ECS
 * GPU-optimized AMI) behind a managed-scaling capacity provider; a task definition that reserves
 * one GPU; a service whose task count belongs to Application Auto Scaling alone (no
 * {@code DesiredCount} in the template, so a deployment never resets it) and follows
 * {@link #scalingSignal}. ECS managed scaling then starts and stops instances to fit the tasks, so
 * with {@code workerMinTasks=0} an idle pipeline runs no GPU instance at all. A busy task protects
 * itself from scale-in through the ECS agent (the worker's {@code TaskProtection}).
 */
public final class MergeWorker extends Construct {

    /** Scratch space: a task-scoped Docker volume mounted on /tmp (kept writable for any image user). */
    static final String SCRATCH_MOUNT = "/tmp";
    static final String SCRATCH_DIR = SCRATCH_MOUNT + "/mergeline-worker";

    /** The worker's HTTP port (Quarkus' default; /q/health, /q/metrics). */
    static final int HTTP_PORT = 8080;

    /**
     * Container health check: GET /q/health/live answers 200 while the worker is live (503 when a
     * check is DOWN). Plain bash, since neither the UBI nor the CUDA base image is sure to carry curl.
     */
    static String healthCheckScript(int port) {
        return "exec 3<>/dev/tcp/127.0.0.1/" + port
                + " && printf 'GET /q/health/live HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3"
                + " && head -n 1 <&3 | grep -q ' 200 '";
    }

    private final Cluster cluster;
    private final Ec2Service service;
    private final Ec2TaskDefinition taskDefinition;
    private final LogGroup logs;
    private final Metric lagMetric;
    private final MathExpression scalingSignal;
    private final AsgCapacityProvider capacity;

    /** Scaling metrics' period: one datapoint per 5 minutes, so one invocation is enough to start a worker. */
    static final Duration SCALING_PERIOD = Duration.minutes(5);

    public MergeWorker(Construct scope, String id, MergelineConfig config, Storage storage, Network network,
            KafkaClients kafka, ValidationFunctions functions, RetentionDays retention) {
        super(scope, id);
        cluster = Cluster.Builder.create(this, "Cluster").vpc(network.vpc()).build();

        Role instanceRole = Role.Builder.create(this, "InstanceRole")
                .assumedBy(new ServicePrincipal("ec2.amazonaws.com"))
                .description("Mergeline GPU container instances (ECS agent only; tasks have their own role)")
                .build();
        SecurityGroup instanceSg = SecurityGroup.Builder.create(this, "InstanceSecurityGroup")
                .vpc(network.vpc())
                .description("Mergeline GPU container instances (egress only)")
                .allowAllOutbound(true)
                .build();
        EcsOptimizedImage ami = config.workerAmi == MergelineConfig.WorkerAmi.AL2
                ? EcsOptimizedImage.amazonLinux2(AmiHardwareType.GPU)
                : EcsOptimizedImage.amazonLinux2023(AmiHardwareType.GPU);
        UserData userData = UserData.forLinux();
        userData.addCommands(
                // tasks (awsvpc) must not borrow the instance role through the metadata service
                "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config",
                // give a stopped task's scratch volume back soon (default: 3 h)
                "echo ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=10m >> /etc/ecs/ecs.config",
                // a Spot interruption notice drains the instance: its task gets SIGTERM and hands its job back
                "echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config");
        LaunchTemplate template = LaunchTemplate.Builder.create(this, "GpuLaunchTemplate")
                .instanceType(new InstanceType(config.workerInstanceTypes.get(0)))
                .machineImage(ami)
                .userData(userData)
                .role(instanceRole)
                .securityGroup(instanceSg)
                .requireImdsv2(true)
                // the ECS agent uses the host network; one hop keeps containers away from the instance role
                .httpPutResponseHopLimit(1)
                .blockDevices(List.of(BlockDevice.builder()
                        .deviceName("/dev/xvda")
                        .volume(BlockDeviceVolume.ebs(config.workerVolumeGiB, EbsDeviceOptions.builder()
                                .volumeType(EbsDeviceVolumeType.GP3)
                                .encrypted(true)
                                .deleteOnTermination(true)
                                .build()))
                        .build()))
                .build();
        // Several GPU types (one GPU each) in order of preference; workerOnDemandBase On-Demand instances
        // first, every further one Spot (price-capacity-optimized over all types and zones); capacity
        // rebalancing launches a replacement when EC2 signals a Spot instance at elevated risk.
        AutoScalingGroup gpus = AutoScalingGroup.Builder.create(this, "GpuInstances")
                .vpc(network.vpc())
                .vpcSubnets(network.privateSubnets())
                .mixedInstancesPolicy(MixedInstancesPolicy.builder()
                        .launchTemplate(template)
                        .launchTemplateOverrides(config.workerInstanceTypes.stream()
                                .map(t -> LaunchTemplateOverrides.builder().instanceType(new InstanceType(t)).build())
                                .toList())
                        .instancesDistribution(InstancesDistribution.builder()
                                .onDemandBaseCapacity(config.workerOnDemandBase)
                                .onDemandPercentageAboveBaseCapacity(0)
                                .onDemandAllocationStrategy(OnDemandAllocationStrategy.PRIORITIZED)
                                .spotAllocationStrategy(SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED)
                                .build())
                        .build())
                .capacityRebalance(true)
                .minCapacity(0)
                .maxCapacity(config.workerMaxTasks)
                .build();
        capacity = AsgCapacityProvider.Builder.create(this, "GpuCapacity")
                .autoScalingGroup(gpus)
                .enableManagedScaling(true)
                .enableManagedTerminationProtection(true)
                .targetCapacityPercent(100)
                .build();
        cluster.addAsgCapacityProvider(capacity);

        logs = LogGroup.Builder.create(this, "Logs").retention(retention).build();
        taskDefinition = Ec2TaskDefinition.Builder.create(this, "Task")
                .networkMode(NetworkMode.AWS_VPC)
                .build();
        taskDefinition.addVolume(Volume.builder()
                .name("scratch")
                .dockerVolumeConfiguration(DockerVolumeConfiguration.builder()
                        .scope(Scope.TASK)
                        .driver("local")
                        .build())
                .build());

        Map<String, String> env = new LinkedHashMap<>();
        env.put("MERGELINE_BUCKET", storage.bucketName());
        env.put("MERGELINE_S3_REGION", Aws.REGION);
        env.put("MERGELINE_WORKER_SCRATCH_DIR", SCRATCH_DIR);
        env.put("MERGELINE_METRICS_EMF_ENABLED", "true");
        env.put("MERGELINE_METRICS_EMF_NAMESPACE", Monitoring.WORKER_METRIC_NAMESPACE);
        env.put("MERGELINE_METRICS_EMF_SERVICE", Monitoring.WORKER_METRIC_SERVICE);
        env.putAll(kafka.environment());
        ContainerDefinition container = taskDefinition.addContainer("worker", ContainerDefinitionOptions.builder()
                .image(ContainerImage.fromEcrRepository(
                        Repository.fromRepositoryName(this, "Repository", config.workerImageRepository),
                        config.workerImageTag))
                .gpuCount(1)
                .memoryLimitMiB(config.workerMemoryMiB)
                .cpu(config.workerCpu)
                .environment(env)
                .secrets(kafka.ecsSecrets())
                .logging(LogDrivers.awsLogs(AwsLogDriverProps.builder().logGroup(logs).streamPrefix("worker")
                        .build()))
                // the worker finishes or hands back its current merge on SIGTERM; 120 s is ECS's maximum
                .stopTimeout(Duration.seconds(120))
                .healthCheck(HealthCheck.builder()
                        .command(List.of("CMD", "bash", "-c", healthCheckScript(HTTP_PORT)))
                        .interval(Duration.seconds(30))
                        .timeout(Duration.seconds(5))
                        .retries(3)
                        // JVM start, ONNX Runtime and CUDA initialisation
                        .startPeriod(Duration.seconds(180))
                        .build())
                .essential(true)
                .build());
        container.addMountPoints(MountPoint.builder()
                .sourceVolume("scratch").containerPath(SCRATCH_MOUNT).readOnly(false).build());

        LeastPrivilege.grantWorker(taskDefinition.getTaskRole(), storage);
        // scale-in protection through the ECS agent endpoint, on this cluster's tasks only
        taskDefinition.getTaskRole().addToPrincipalPolicy(PolicyStatement.Builder.create()
                .sid("OwnScaleInProtection")
                .effect(Effect.ALLOW)
                .actions(List.of("ecs:UpdateTaskProtection", "ecs:GetTaskProtection"))
                .resources(List.of(Stack.of(this).formatArn(ArnComponents.builder()
                        .service("ecs").resource("task")
                        .resourceName(cluster.getClusterName() + "/*")
                        .arnFormat(ArnFormat.SLASH_RESOURCE_NAME)
                        .build())))
                .build());
        LeastPrivilege.grantKafka(taskDefinition.getTaskRole(), config,
                List.of(Contract.TOPIC_MERGED_MODEL_READY, Contract.TOPIC_MERGE_FAILURES, Contract.TOPIC_MERGE_PROGRESS),
                Contract.TOPIC_MERGE_REQUESTS, Contract.GROUP_WORKER);

        service = Ec2Service.Builder.create(this, "Service")
                .cluster(cluster)
                .taskDefinition(taskDefinition)
                // no desiredCount: Application Auto Scaling owns the count (CloudFormation would reset it on
                // every update and stop merges in flight)
                // no spare GPU for a rolling deployment: replace tasks in place
                .minHealthyPercent(0)
                .maxHealthyPercent(100)
                .capacityProviderStrategies(List.of(CapacityProviderStrategy.builder()
                        .capacityProvider(capacity.getCapacityProviderName())
                        .weight(1)
                        .build()))
                .securityGroups(List.of(network.clients()))
                .vpcSubnets(network.privateSubnets())
                .circuitBreaker(DeploymentCircuitBreaker.builder().rollback(true).build())
                .build();

        lagMetric = lagMetric(config);
        MetricOptions sum = MetricOptions.builder().statistic("Sum").period(SCALING_PERIOD).build();
        scalingSignal = scalingSignal(lagMetric, List.of(
                functions.validation().metricInvocations(sum), functions.kafkaIngress().metricInvocations(sum)));
        service.autoScaleTaskCount(EnableScalingProps.builder()
                        .minCapacity(config.workerMinTasks)
                        .maxCapacity(config.workerMaxTasks)
                        .build())
                .scaleOnMetric("ScaleOnConsumerLag", BasicStepScalingPolicyProps.builder()
                        .metric(scalingSignal)
                        .scalingSteps(scalingSteps(config))
                        .adjustmentType(AdjustmentType.EXACT_CAPACITY)
                        .evaluationPeriods(1)
                        .datapointsToAlarm(1)
                        .cooldown(Duration.minutes(5))
                        .build());
    }

    /**
     * What the task count follows: the worker group's consumer lag where it exists; where it does not
     * (a fresh group that never committed an offset, for which MSK publishes no lag), 1 while either
     * validation function was invoked in the period (it may have produced a merge request), else 0.
     * The first worker then consumes from the earliest offset and commits, and from then on the lag
     * metric exists and rules alone; a failed validation no longer starts a GPU instance.
     */
    static MathExpression scalingSignal(Metric lag, List<IMetric> invocations) {
        Map<String, IMetric> metrics = new LinkedHashMap<>();
        metrics.put("lag", lag);
        StringBuilder anyInvocation = new StringBuilder();
        for (int i = 0; i < invocations.size(); i++) {
            metrics.put("inv" + i, invocations.get(i));
            anyInvocation.append(i == 0 ? "" : " + ").append("FILL(inv").append(i).append(", 0)");
        }
        return MathExpression.Builder.create()
                .expression("IF(FILL(lag, -1) < 0, IF(" + anyInvocation + " > 0, 1, 0), lag)")
                .usingMetrics(metrics)
                .label("waiting merge requests (consumer lag; before the first commit: 1 if the functions ran)")
                .period(SCALING_PERIOD)
                .build();
    }

    /**
     * Consumer lag of {@code mergeline-worker} on {@code merge-requests}: with MSK, the metric MSK
     * itself publishes per consumer group ({@code AWS/Kafka SumOffsetLag}, dimensions
     * {@code Cluster Name}, {@code Consumer Group}, {@code Topic}); with self-managed Kafka, the
     * same metric name and dimensions (without {@code Cluster Name}) in {@code lagMetricNamespace},
     * published by a lag exporter of the user's choice.
     */
    static Metric lagMetric(MergelineConfig config) {
        Map<String, String> dims = new LinkedHashMap<>();
        if (config.kafkaMode == MergelineConfig.KafkaMode.MSK) {
            dims.put("Cluster Name", config.mskClusterName());
        }
        dims.put("Consumer Group", Contract.GROUP_WORKER);
        dims.put("Topic", Contract.TOPIC_MERGE_REQUESTS);
        return Metric.Builder.create()
                .namespace(config.lagMetricNamespace)
                .metricName(config.lagMetricName)
                .dimensionsMap(dims)
                .statistic("Maximum")
                .period(SCALING_PERIOD)
                .build();
    }

    /**
     * Lag → task count (exact capacity): no lag (everything committed, so no merge in flight) →
     * {@code workerMinTasks}; lag ≥ 1 → 1 task; then one more task per {@code workerLagPerTask}
     * waiting requests, up to {@code workerMaxTasks} (at most 10 steps).
     */
    static List<ScalingInterval> scalingSteps(MergelineConfig config) {
        List<ScalingInterval> steps = new ArrayList<>();
        // lag is an integer: the lower alarm fires at lag <= 0.5, i.e. 0 (upper bounds are inclusive there)
        steps.add(ScalingInterval.builder().upper(0.5).change(config.workerMinTasks).build());
        int max = config.workerMaxTasks;
        int stepCount = Math.min(max, 10);
        int previous = 0;
        for (int i = 1; i <= stepCount; i++) {
            int tasks = i == stepCount ? max : Math.max(i, config.workerMinTasks);
            int lower = i == 1 ? 1 : Math.max((i - 1) * config.workerLagPerTask, previous + 1);
            steps.add(ScalingInterval.builder().lower(lower).change(tasks).build());
            previous = lower;
        }
        return steps;
    }

    public Cluster cluster() {
        return cluster;
    }

    public Ec2Service service() {
        return service;
    }

    public Ec2TaskDefinition taskDefinition() {
        return taskDefinition;
    }

    public LogGroup logs() {
        return logs;
    }

    public Metric lagMetric() {
        return lagMetric;
    }

    public MathExpression scalingSignal() {
        return scalingSignal;
    }

    public AsgCapacityProvider capacity() {
        return capacity;
    }
}
