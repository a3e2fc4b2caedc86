package dev.mergeline.infra;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;

/**
 * Every input of the Mergeline stack, with defaults. Read from CDK context ({@code cdk.json},
 * {@code cdk synth -c key=value}, or {@code exec:java -Dexec.args="key=value ..."}) by
 * {@link #fromContext}; tests build it with {@link #builder()}.
 *
 * <p>Kafka is an input, never created here: most teams already run a cluster, and an MSK cluster
 * costs more per month than everything else in this stack put together while idle.
 */
public final class MergelineConfig {

    /** Marks example values in cdk.json; the stack refuses to deploy while one is left. */
    public static final String PLACEHOLDER = "REPLACE-ME";

    public enum Encryption { S3, KMS }

    public enum KafkaMode { MSK, SELF_MANAGED }

    /** How the functions' and the worker's own Kafka clients authenticate. */
    public enum KafkaClientAuth { IAM, SCRAM, TLS, PLAINTEXT }

    public enum WorkerAmi { AL2023, AL2 }

    /** Lambda instruction set: {@code arm64} (Graviton) or {@code x86_64}. */
    public enum FunctionArchitecture { ARM64, X86_64 }

    // storage
    public final String bucketName;
    public final Encryption encryption;
    public final int mergedExpirationDays;
    public final int noncurrentVersionExpirationDays;
    // functions
    public final Path functionCode;
    public final int functionMemoryMiB;
    public final int functionTimeoutSeconds;
    public final FunctionArchitecture functionArchitecture;
    /** Reserved concurrency of each Lambda (bounds S3 bursts and Kafka connections). */
    public final int functionReservedConcurrency;
    /** Kafka event source mapping: retries after the first attempt, record age, pollers. */
    public final int kafkaRetryAttempts;
    public final int kafkaMaxRecordAgeSeconds;
    public final int kafkaMaxPollers;
    // kafka
    public final KafkaMode kafkaMode;
    public final String mskClusterArn;
    public final String kafkaBootstrapServers;
    public final String kafkaSecretArn;
    public final KafkaClientAuth kafkaClientAuth;
    public final String kafkaSecurityGroupId;
    // network
    public final String vpcId;
    public final List<String> vpcAvailabilityZones;
    public final List<String> vpcPrivateSubnetIds;
    /** Route tables of the imported private subnets: an S3 gateway endpoint is added to them. */
    public final List<String> vpcPrivateRouteTableIds;
    /** Imported VPC: create the interface endpoints the functions and the Kafka mapping need without NAT. */
    public final boolean vpcInterfaceEndpoints;
    // worker
    public final String workerImageRepository;
    public final String workerImageTag;
    /** GPU instance types the Auto Scaling group may launch, in order of preference. */
    public final List<String> workerInstanceTypes;
    /** On-Demand instances before any Spot instance; above it every instance is Spot. */
    public final int workerOnDemandBase;
    public final WorkerAmi workerAmi;
    public final int workerMinTasks;
    public final int workerMaxTasks;
    public final int workerLagPerTask;
    public final int workerMemoryMiB;
    public final int workerCpu;
    public final int workerVolumeGiB;
    public final String lagMetricNamespace;
    public final String lagMetricName;
    // operations
    public final int logRetentionDays;
    public final String alarmEmail;
    /** Extra tags on every resource (cost allocation, ownership), besides project and component. */
    public final java.util.Map<String, String> tags;

    private MergelineConfig(Builder b) {
        bucketName = require(b.bucketName, "bucketName");
        encryption = b.encryption;
        mergedExpirationDays = nonNegative(b.mergedExpirationDays, "mergedExpirationDays");
        noncurrentVersionExpirationDays = nonNegative(b.noncurrentVersionExpirationDays,
                "noncurrentVersionExpirationDays");
        functionCode = Objects.requireNonNull(b.functionCode, "functionCode");
        functionMemoryMiB = positive(b.functionMemoryMiB, "functionMemoryMiB");
        functionTimeoutSeconds = positive(b.functionTimeoutSeconds, "functionTimeoutSeconds");
        functionArchitecture = b.functionArchitecture;
        functionReservedConcurrency = positive(b.functionReservedConcurrency, "functionReservedConcurrency");
        kafkaRetryAttempts = nonNegative(b.kafkaRetryAttempts, "kafkaRetryAttempts");
        kafkaMaxRecordAgeSeconds = b.kafkaMaxRecordAgeSeconds;
        kafkaMaxPollers = positive(b.kafkaMaxPollers, "kafkaMaxPollers");
        kafkaMode = b.kafkaMode;
        mskClusterArn = blankToNull(b.mskClusterArn);
        kafkaBootstrapServers = require(b.kafkaBootstrapServers, "kafkaBootstrapServers");
        kafkaSecretArn = blankToNull(b.kafkaSecretArn);
        kafkaClientAuth = b.kafkaClientAuth != null ? b.kafkaClientAuth
                : kafkaMode == KafkaMode.MSK ? KafkaClientAuth.IAM
                : kafkaSecretArn != null ? KafkaClientAuth.SCRAM : KafkaClientAuth.PLAINTEXT;
        kafkaSecurityGroupId = blankToNull(b.kafkaSecurityGroupId);
        vpcId = blankToNull(b.vpcId);
        vpcAvailabilityZones = List.copyOf(b.vpcAvailabilityZones);
        vpcPrivateSubnetIds = List.copyOf(b.vpcPrivateSubnetIds);
        vpcPrivateRouteTableIds = List.copyOf(b.vpcPrivateRouteTableIds);
        vpcInterfaceEndpoints = b.vpcInterfaceEndpoints;
        workerImageRepository = require(b.workerImageRepository, "workerImageRepository");
        workerImageTag = require(b.workerImageTag, "workerImageTag");
        workerInstanceTypes = List.copyOf(b.workerInstanceTypes);
        workerOnDemandBase = nonNegative(b.workerOnDemandBase, "workerOnDemandBase");
        workerAmi = b.workerAmi;
        workerMinTasks = nonNegative(b.workerMinTasks, "workerMinTasks");
        workerMaxTasks = positive(b.workerMaxTasks, "workerMaxTasks");
        workerLagPerTask = positive(b.workerLagPerTask, "workerLagPerTask");
        workerMemoryMiB = positive(b.workerMemoryMiB, "workerMemoryMiB");
        workerCpu = positive(b.workerCpu, "workerCpu");
        workerVolumeGiB = positive(b.workerVolumeGiB, "workerVolumeGiB");
        lagMetricNamespace = require(b.lagMetricNamespace != null ? b.lagMetricNamespace
                : kafkaMode == KafkaMode.MSK ? "AWS/Kafka" : "Mergeline/Kafka", "lagMetricNamespace");
        lagMetricName = require(b.lagMetricName, "lagMetricName");
        logRetentionDays = positive(b.logRetentionDays, "logRetentionDays");
        alarmEmail = blankToNull(b.alarmEmail);
        tags = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(b.tags));

        if (!bucketName.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw new IllegalArgumentException("bucketName must be a literal S3 bucket name, got: " + bucketName);
        }
        if (kafkaRetryAttempts > 10_000) {
            throw new IllegalArgumentException("kafkaRetryAttempts must be 0..10000, got " + kafkaRetryAttempts);
        }
        if (kafkaMaxRecordAgeSeconds < 60 || kafkaMaxRecordAgeSeconds > 604_800) {
            throw new IllegalArgumentException("kafkaMaxRecordAgeSeconds must be 60..604800 (Lambda's bounds), got "
                    + kafkaMaxRecordAgeSeconds);
        }
        if (workerInstanceTypes.isEmpty()) {
            throw new IllegalArgumentException("workerInstanceTypes needs at least one GPU instance type");
        }
        if (workerMinTasks > workerMaxTasks) {
            throw new IllegalArgumentException("workerMinTasks (" + workerMinTasks + ") > workerMaxTasks ("
                    + workerMaxTasks + ")");
        }
        if (kafkaMode == KafkaMode.MSK) {
            if (mskClusterArn == null) {
                throw new IllegalArgumentException("kafkaMode=msk needs mskClusterArn");
            }
            MskArns.parse(mskClusterArn); // validates the shape early
        } else if (kafkaClientAuth == KafkaClientAuth.IAM) {
            throw new IllegalArgumentException("kafkaClientAuth=iam works with MSK only");
        }
        if (kafkaClientAuth == KafkaClientAuth.SCRAM && kafkaSecretArn == null) {
            throw new IllegalArgumentException("kafkaClientAuth=scram needs kafkaSecretArn (a Secrets Manager "
                    + "secret with username and password)");
        }
        if (!vpcPrivateRouteTableIds.isEmpty() && vpcPrivateRouteTableIds.size() != vpcPrivateSubnetIds.size()) {
            throw new IllegalArgumentException("vpcPrivateRouteTableIds needs one route table per private subnet");
        }
        kafkaPorts(); // validates the bootstrap servers against the auth mode early
        if (vpcId != null && (vpcAvailabilityZones.isEmpty()
                || vpcPrivateSubnetIds.size() != vpcAvailabilityZones.size())) {
            throw new IllegalArgumentException("vpcId needs vpcAvailabilityZones and vpcPrivateSubnetIds, "
                    + "one subnet per zone");
        }
    }

    /**
     * The brokers' ports, from {@link #kafkaBootstrapServers}: the only ports the brokers' security
     * group opens to the clients. With MSK each auth mode has its own listener port (private / public):
     * plaintext 9092, TLS 9094/9194, SASL/SCRAM 9096/9196, IAM 9098/9198; another port for the
     * chosen mode is refused.
     */
    public List<Integer> kafkaPorts() {
        java.util.TreeSet<Integer> ports = new java.util.TreeSet<>();
        for (String server : kafkaBootstrapServers.split("\\s*,\\s*")) {
            int colon = server.lastIndexOf(':');
            int port;
            try {
                port = colon < 0 ? -1 : Integer.parseInt(server.substring(colon + 1));
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 1 || port > 65_535) {
                throw new IllegalArgumentException("kafkaBootstrapServers: '" + server + "' has no host:port");
            }
            ports.add(port);
        }
        if (kafkaMode == KafkaMode.MSK) {
            List<Integer> allowed = switch (kafkaClientAuth) {
                case PLAINTEXT -> List.of(9092);
                case TLS -> List.of(9094, 9194);
                case SCRAM -> List.of(9096, 9196);
                case IAM -> List.of(9098, 9198);
            };
            for (int port : ports) {
                if (!allowed.contains(port)) {
                    throw new IllegalArgumentException("kafkaBootstrapServers: MSK serves kafkaClientAuth="
                            + kafkaClientAuth.name().toLowerCase(Locale.ROOT) + " on " + allowed + ", not on " + port);
                }
            }
        }
        return List.copyOf(ports);
    }

    /** Cluster name of {@link #mskClusterArn}, for the MSK consumer-lag metric's dimension. */
    public String mskClusterName() {
        return MskArns.parse(mskClusterArn).clusterName();
    }

    /** Names of inputs that still hold {@link #PLACEHOLDER} example values. */
    public List<String> placeholders() {
        List<String> out = new ArrayList<>();
        check(out, "bucketName", bucketName);
        check(out, "mskClusterArn", mskClusterArn);
        check(out, "kafkaBootstrapServers", kafkaBootstrapServers);
        check(out, "kafkaSecretArn", kafkaSecretArn);
        check(out, "kafkaSecurityGroupId", kafkaSecurityGroupId);
        check(out, "vpcId", vpcId);
        check(out, "workerImageRepository", workerImageRepository);
        return out;
    }

    private static void check(List<String> out, String name, String value) {
        if (value != null && value.toUpperCase(Locale.ROOT).contains(PLACEHOLDER)) {
            out.add(name);
        }
    }

    /**
     * Reads every input from CDK context; relative paths resolve against {@code infraDir}. Each input
     * is the {@link Builder} field of the same name, converted by the field's type: numbers and
     * booleans from strings or JSON values, enums case-insensitively with '-' for '_', lists from
     * JSON arrays or comma-separated strings, paths against {@code infraDir}; a blank value is absent.
     *
     * @param context context lookup (values are strings from {@code -c}, or JSON values from cdk.json)
     */
    public static MergelineConfig fromContext(Function<String, Object> context, Path infraDir) {
        Builder b = builder();
        b.functionCode(infraDir.resolve(Builder.DEFAULT_FUNCTION_CODE).normalize());
        for (Field field : Builder.class.getDeclaredFields()) {
            Object value = context.apply(field.getName());
            if (Modifier.isStatic(field.getModifiers()) || field.getName().equals("tags") || value == null
                    || (!(value instanceof List<?>) && value.toString().isBlank())) {
                continue;
            }
            try {
                field.setAccessible(true);
                field.set(b, contextValue(field, value, infraDir));
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        Object tags = context.apply("tags");
        if (tags instanceof java.util.Map<?, ?> m) {
            m.forEach((k, v) -> b.tag(String.valueOf(k), String.valueOf(v)));
        } else if (tags != null) {
            list(tags).forEach(kv -> {
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("tags: expected key=value, got: " + kv);
                }
                b.tag(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            });
        }
        return b.build();
    }

    /** {@code value} from the context as the type of {@code field}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object contextValue(Field field, Object value, Path infraDir) {
        Class<?> type = field.getType();
        String text = value.toString().trim();
        if (type == List.class) {
            return list(value);
        }
        if (type.isEnum()) {
            return Enum.valueOf((Class<? extends Enum>) type, upper(text));
        }
        if (type == int.class) {
            try {
                return (int) Double.parseDouble(text);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("context " + field.getName() + " must be a number, got: " + text);
            }
        }
        if (type == boolean.class) {
            return Boolean.parseBoolean(text);
        }
        if (type == Path.class) {
            return infraDir.resolve(text).normalize();
        }
        return text;
    }

    /** A JSON array's elements, or a comma-separated string's non-empty parts; trimmed. */
    private static List<String> list(Object value) {
        if (value instanceof List<?> l) {
            return l.stream().map(Object::toString).map(String::trim).toList();
        }
        return Arrays.stream(value.toString().split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
    }

    private static String upper(String v) {
        return v.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static String require(String s, String name) {
        String v = blankToNull(s);
        if (v == null) {
            throw new IllegalArgumentException("missing input: " + name);
        }
        return v;
    }

    private static int positive(int v, String name) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, got " + v);
        }
        return v;
    }

    private static int nonNegative(int v, String name) {
        if (v < 0) {
            throw new IllegalArgumentException(name + " must be >= 0, got " + v);
        }
        return v;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        static final String DEFAULT_FUNCTION_CODE = "../functions/target/function.zip";

        /** S3 bucket names are global: the default only marks where a name of one's own goes. */
        static final String DEFAULT_BUCKET = "replace-me-mergeline";

        private String bucketName = DEFAULT_BUCKET;
        private Encryption encryption = Encryption.S3;
        private int mergedExpirationDays = 30;
        private int noncurrentVersionExpirationDays = 30;
        private Path functionCode = Path.of(DEFAULT_FUNCTION_CODE);
        private int functionMemoryMiB = 1024;
        private int functionTimeoutSeconds = 120;
        private FunctionArchitecture functionArchitecture = FunctionArchitecture.ARM64;
        private int functionReservedConcurrency = 10;
        private int kafkaRetryAttempts = 3;
        private int kafkaMaxRecordAgeSeconds = 3600;
        private int kafkaMaxPollers = 2;
        private KafkaMode kafkaMode = KafkaMode.MSK;
        private String mskClusterArn;
        private String kafkaBootstrapServers;
        private String kafkaSecretArn;
        private KafkaClientAuth kafkaClientAuth;
        private String kafkaSecurityGroupId;
        private String vpcId;
        private List<String> vpcAvailabilityZones = List.of();
        private List<String> vpcPrivateSubnetIds = List.of();
        private List<String> vpcPrivateRouteTableIds = List.of();
        private boolean vpcInterfaceEndpoints = true;
        private String workerImageRepository = "mergeline/merge-worker";
        private String workerImageTag = "0.1.0-cuda";
        private List<String> workerInstanceTypes = List.of("g5.xlarge", "g6.xlarge", "g4dn.xlarge");
        private int workerOnDemandBase = 1;
        private WorkerAmi workerAmi = WorkerAmi.AL2023;
        private int workerMinTasks = 0;
        private int workerMaxTasks = 2;
        private int workerLagPerTask = 5;
        private int workerMemoryMiB = 14336;
        private int workerCpu = 3072;
        private int workerVolumeGiB = 200;
        private String lagMetricNamespace;
        private String lagMetricName = "SumOffsetLag";
        private int logRetentionDays = 30;
        private String alarmEmail;
        private final java.util.Map<String, String> tags = new java.util.LinkedHashMap<>();

        public Builder bucketName(String v) { bucketName = v; return this; }
        public Builder encryption(Encryption v) { encryption = v; return this; }
        public Builder mergedExpirationDays(int v) { mergedExpirationDays = v; return this; }
        public Builder noncurrentVersionExpirationDays(int v) { noncurrentVersionExpirationDays = v; return this; }
        public Builder functionCode(Path v) { functionCode = v; return this; }
        public Builder functionMemoryMiB(int v) { functionMemoryMiB = v; return this; }
        public Builder functionTimeoutSeconds(int v) { functionTimeoutSeconds = v; return this; }
        public Builder functionArchitecture(FunctionArchitecture v) { functionArchitecture = v; return this; }
        public Builder functionReservedConcurrency(int v) { functionReservedConcurrency = v; return this; }
        public Builder kafkaRetryAttempts(int v) { kafkaRetryAttempts = v; return this; }
        public Builder kafkaMaxRecordAgeSeconds(int v) { kafkaMaxRecordAgeSeconds = v; return this; }
        public Builder kafkaMaxPollers(int v) { kafkaMaxPollers = v; return this; }
        public Builder kafkaMode(KafkaMode v) { kafkaMode = v; return this; }
        public Builder mskClusterArn(String v) { mskClusterArn = v; return this; }
        public Builder kafkaBootstrapServers(String v) { kafkaBootstrapServers = v; return this; }
        public Builder kafkaSecretArn(String v) { kafkaSecretArn = v; return this; }
        public Builder kafkaClientAuth(KafkaClientAuth v) { kafkaClientAuth = v; return this; }
        public Builder kafkaSecurityGroupId(String v) { kafkaSecurityGroupId = v; return this; }
        public Builder vpcId(String v) { vpcId = v; return this; }
        public Builder vpcAvailabilityZones(List<String> v) { vpcAvailabilityZones = v; return this; }
        public Builder vpcPrivateSubnetIds(List<String> v) { vpcPrivateSubnetIds = v; return this; }
        public Builder vpcPrivateRouteTableIds(List<String> v) { vpcPrivateRouteTableIds = v; return this; }
        public Builder vpcInterfaceEndpoints(boolean v) { vpcInterfaceEndpoints = v; return this; }
        public Builder workerImageRepository(String v) { workerImageRepository = v; return this; }
        public Builder workerImageTag(String v) { workerImageTag = v; return this; }
        public Builder workerInstanceTypes(List<String> v) { workerInstanceTypes = v; return this; }
        public Builder workerOnDemandBase(int v) { workerOnDemandBase = v; return this; }
        public Builder workerAmi(WorkerAmi v) { workerAmi = v; return this; }
        public Builder workerMinTasks(int v) { workerMinTasks = v; return this; }
        public Builder workerMaxTasks(int v) { workerMaxTasks = v; return this; }
        public Builder workerLagPerTask(int v) { workerLagPerTask = v; return this; }
        public Builder workerMemoryMiB(int v) { workerMemoryMiB = v; return this; }
        public Builder workerCpu(int v) { workerCpu = v; return this; }
        public Builder workerVolumeGiB(int v) { workerVolumeGiB = v; return this; }
        public Builder lagMetricNamespace(String v) { lagMetricNamespace = v; return this; }
        public Builder lagMetricName(String v) { lagMetricName = v; return this; }
        public Builder logRetentionDays(int v) { logRetentionDays = v; return this; }
        public Builder alarmEmail(String v) { alarmEmail = v; return this; }
        public Builder tag(String key, String value) { tags.put(key, value); return this; }

        public MergelineConfig build() {
            return new MergelineConfig(this);
        }
    }
}
