package dev.mergeline.devstack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Static checks of the LocalStack deployment (localstack/docker-compose.yml, localstack/init/*,
 * localstack/kafka-init/*) and the worker image build: none of it can run without Docker, so this
 * test checks what can be checked here. The scripts pass {@code bash -n} (and {@code shellcheck} when
 * it is on PATH), the compose file parses and has the expected shape, and the names the init scripts
 * and containers use (bucket, topics, functions and their exports, environment variables) are the
 * ones the applications' configuration defines.
 *
 * <p>Runs with the module directory ({@code merge-engine/devstack}) as working directory.
 */
class LocalStackFilesTest {

    private static final Path ROOT = Path.of("../..").toAbsolutePath().normalize();
    private static final Path LOCALSTACK = ROOT.resolve("localstack");
    private static final Path INIT = LOCALSTACK.resolve("init");
    private static final Path TOPICS_SCRIPT = LOCALSTACK.resolve("kafka-init/create-topics.sh");
    private static final Path COMPOSE = LOCALSTACK.resolve("docker-compose.yml");
    private static final Path COMPOSE_GPU = LOCALSTACK.resolve("docker-compose.gpu.yml");
    private static final Path FUNCTIONS_PROPERTIES = ROOT.resolve("functions/src/main/resources/application.properties");
    private static final Path WORKER_PROPERTIES =
            ROOT.resolve("merge-engine/worker/src/main/resources/application.properties");
    /** The {@code mergeline.*} settings both applications read (merge-engine/quarkus-common). */
    private static final Path SHARED_CONFIG =
            ROOT.resolve("merge-engine/quarkus-common/src/main/java/dev/mergeline/quarkus/MergelineSettings.java");
    private static final Path FUNCTIONS_CONFIG =
            ROOT.resolve("functions/src/main/java/dev/mergeline/functions/FunctionsConfig.java");
    private static final Path WORKER_CONFIG =
            ROOT.resolve("merge-engine/worker/src/main/java/dev/mergeline/worker/WorkerConfig.java");
    private static final Path FUNCTIONS_ENTRY =
            ROOT.resolve("functions/src/main/java/dev/mergeline/functions/AdapterFunctions.java");
    private static final Path WORKER_POM = ROOT.resolve("merge-engine/worker/pom.xml");

    /** Deployment switches: read by the compose file and the init scripts, not by the applications. */
    private static final Set<String> STACK_SWITCHES = Set.of("MERGELINE_KAFKA_INGRESS", "MERGELINE_WORKER_IMAGE");

    /** The contract's topics (docs/contract.md, "Kafka topics and events"). */
    private static final List<String> CONTRACT_TOPICS =
            List.of("adapter-uploads", "merge-requests", "merged-model-ready", "merge-failures", "merge-progress");

    private static final Pattern ENV_REFERENCE =
            Pattern.compile("\\$\\{?(MERGELINE_[A-Z0-9_]+|KAFKA_BOOTSTRAP_SERVERS)\\b");
    private static final Pattern ENV_ASSIGNMENT =
            Pattern.compile("\\b(MERGELINE_[A-Z0-9_]+|KAFKA_BOOTSTRAP_SERVERS)=");

    // ---------------------------------------------------------------- scripts

    @Test
    void everyScriptPassesBashSyntaxCheck() throws Exception {
        List<Path> scripts = shellScripts();
        assertTrue(scripts.size() >= 7, "expected the init, kafka-init and image scripts, found " + scripts);
        for (Path script : scripts) {
            Result r = run(script.getParent(), "bash", "-n", script.toString());
            assertEquals(0, r.exit, "bash -n " + ROOT.relativize(script) + ":\n" + r.output);
        }
        // The shared settings are sourced, never executed; they must parse as bash too.
        Result conf = run(INIT, "bash", "-n", INIT.resolve("mergeline.conf").toString());
        assertEquals(0, conf.exit, "bash -n localstack/init/mergeline.conf:\n" + conf.output);
        // The functions container's inline start script (compose doubles `$` as `$$`).
        Path inline = Files.createTempFile("functions-entrypoint", ".sh");
        try {
            Files.writeString(inline, functionsEntrypointScript());
            Result r = run(inline.getParent(), "bash", "-n", inline.toString());
            assertEquals(0, r.exit, "bash -n of the functions entrypoint in docker-compose.yml:\n" + r.output);
        } finally {
            Files.deleteIfExists(inline);
        }
    }

    @Test
    void everyScriptPassesShellcheck() throws Exception {
        Optional<Path> shellcheck = onPath("shellcheck");
        Assumptions.assumeTrue(shellcheck.isPresent(),
                "shellcheck is not on PATH: the shellcheck assertion is skipped (apt-get install shellcheck to run it)");
        List<Path> files = new ArrayList<>(shellScripts());
        files.add(INIT.resolve("mergeline.conf"));
        for (Path file : files) {
            Result r = run(file.getParent(), shellcheck.get().toString(), "-x", "--source-path=SCRIPTDIR",
                    "--shell=bash", file.toString());
            assertEquals(0, r.exit, "shellcheck " + ROOT.relativize(file) + ":\n" + r.output);
        }
    }

    @Test
    void initScriptsAreNumberedExecutableStrictBashEndingWithTheReadyMarker() throws IOException {
        List<Path> scripts = initScripts();
        List<String> names = scripts.stream().map(p -> p.getFileName().toString()).toList();
        assertTrue(names.get(0).startsWith("01_"), "first init script must be 01_…: " + names);
        assertEquals("99_ready.sh", names.get(names.size() - 1), "last init script: " + names);
        for (Path script : shellScripts()) {
            String text = Files.readString(script);
            String name = ROOT.relativize(script).toString();
            assertTrue(text.startsWith("#!/bin/bash\n"), name + " must start with #!/bin/bash");
            assertTrue(text.contains("\nset -euo pipefail\n"), name + " must set -euo pipefail");
            assertTrue(Files.isExecutable(script), name + " must be executable (LocalStack runs only executable hooks; git keeps the mode)");
        }
        for (Path script : scripts) {
            assertTrue(Files.readString(script).contains("source \"$(dirname \"${BASH_SOURCE[0]}\")/mergeline.conf\""),
                    script.getFileName() + " must source mergeline.conf");
        }
        String ready = Files.readString(INIT.resolve("99_ready.sh"));
        assertTrue(ready.contains("echo \"MERGELINE_READY "), "99_ready.sh prints the readiness marker");
        assertTrue(ready.contains("MERGELINE_INIT_FAILED"), "99_ready.sh reports a failed init");
    }

    // ---------------------------------------------------------------- names shared with the apps

    @Test
    void bucketIsTheApplicationsBucketEverywhere() throws IOException {
        String bucket = properties(FUNCTIONS_PROPERTIES).getProperty("mergeline.bucket");
        assertEquals("mergeline", bucket);
        assertEquals(bucket, properties(WORKER_PROPERTIES).getProperty("mergeline.bucket"));
        assertEquals(bucket, conf().get("bucket"), "init/mergeline.conf bucket");
        assertEquals(bucket, env(service("merge-worker")).get("MERGELINE_BUCKET"));
        assertEquals(bucket, env(service("functions")).get("MERGELINE_BUCKET"));
        assertTrue(Files.readString(INIT.resolve("01_buckets.sh")).contains("create-bucket --bucket \"$b\""));
        assertTrue(Files.readString(INIT.resolve("01_buckets.sh")).contains("for b in \"$bucket\""));
        String notification = Files.readString(INIT.resolve("03_s3_notification.sh"));
        assertTrue(notification.contains("put-bucket-notification-configuration --bucket \"$bucket\""));
        assertTrue(notification.contains("\"s3:ObjectCreated:*\""));
        assertTrue(notification.contains("lambda add-permission"));
        assertTrue(notification.contains("--principal s3.amazonaws.com"));
        assertEquals("adapters/", conf().get("notification_prefix"));
    }

    @Test
    void everyConfiguredTopicIsCreated() throws IOException {
        Set<String> created = createdTopics();
        Set<String> configured = new TreeSet<>();
        for (Path file : List.of(FUNCTIONS_PROPERTIES, WORKER_PROPERTIES)) {
            Properties p = properties(file);
            for (String key : p.stringPropertyNames()) {
                if (key.matches("mp\\.messaging\\.(incoming|outgoing)\\.[^.]+\\.topic")) {
                    configured.add(p.getProperty(key));
                }
            }
        }
        assertTrue(configured.containsAll(List.of("adapter-uploads", "merge-requests", "merged-model-ready", "merge-failures")),
                "application topics: " + configured);
        assertTrue(created.containsAll(configured), "kafka-init/create-topics.sh creates " + created + ", apps use " + configured);
        assertTrue(created.containsAll(CONTRACT_TOPICS), "contract topics " + CONTRACT_TOPICS + " vs " + created);
        String uploads = properties(FUNCTIONS_PROPERTIES).getProperty("mp.messaging.incoming.adapter-uploads.topic");
        assertEquals(uploads, conf().get("uploads_topic"), "event source mapping topic");
        assertTrue(created.contains(conf().get("uploads_topic")));
    }

    @Test
    void lambdasRunTheFunctionsExportsWithTheFunqyLambdaHandler() throws IOException {
        Map<String, String> conf = conf();
        assertEquals("mergeline-s3-trigger", conf.get("s3_function"));
        assertEquals("mergeline-kafka-trigger", conf.get("kafka_function"));
        assertEquals("s3Trigger", conf.get("s3_function_export"));
        assertEquals("kafkaTrigger", conf.get("kafka_function_export"));
        assertEquals("java21", conf.get("lambda_runtime")); // the AWS stack's runtime (infra: LocalStackAgreementTest)

        // The exports are the functions' @Funq methods, and s3Trigger is the app's default export.
        Set<String> funqs = new TreeSet<>();
        Matcher m = Pattern.compile("@Funq\\s+public\\s+\\S+\\s+(\\w+)\\(").matcher(Files.readString(FUNCTIONS_ENTRY));
        while (m.find()) {
            funqs.add(m.group(1));
        }
        assertTrue(funqs.containsAll(List.of("s3Trigger", "kafkaTrigger")), "@Funq methods: " + funqs);
        assertEquals("${QUARKUS_FUNQY_EXPORT:s3Trigger}", properties(FUNCTIONS_PROPERTIES).getProperty("quarkus.funqy.export"));

        // function.zip is a Funqy Lambda package: its handler is FunqyStreamHandler.
        assertEquals("io.quarkus.funqy.lambda.FunqyStreamHandler::handleRequest", conf.get("lambda_handler"));
        assertTrue(Files.readString(ROOT.resolve("functions/pom.xml")).contains("<artifactId>quarkus-funqy-amazon-lambda</artifactId>"));
        Path sam = ROOT.resolve("functions/target/sam.jvm.yaml");
        if (Files.exists(sam)) { // written by the functions build, which runs after this module
            assertTrue(Files.readString(sam).contains("Handler: " + conf.get("lambda_handler")), "handler in " + sam);
        }

        String lambdas = Files.readString(INIT.resolve("02_lambdas.sh"));
        assertTrue(lambdas.contains("deploy \"$s3_function\" \"$s3_function_export\""));
        assertTrue(lambdas.contains("deploy \"$kafka_function\" \"$kafka_function_export\""));
        for (String option : List.of("--runtime \"$lambda_runtime\"", "--handler \"$lambda_handler\"",
                "--timeout \"$lambda_timeout\"", "--memory-size \"$lambda_memory\"", "--environment \"$env\"")) {
            assertTrue(lambdas.contains(option), "02_lambdas.sh create-function " + option);
        }
        assertTrue(Integer.parseInt(conf.get("lambda_timeout")) >= 60, "Java cold starts need a long timeout");
        assertTrue(Integer.parseInt(conf.get("lambda_memory")) >= 1024, "Lambda memory");
        assertEquals(conf.get("function_zip"), volumeTarget(service("localstack"), "../functions/target/function.zip"));

        String ingress = Files.readString(INIT.resolve("04_kafka_ingress.sh"));
        assertTrue(ingress.contains("create-event-source-mapping --function-name \"$kafka_function\""));
        assertTrue(ingress.contains("--topics \"$uploads_topic\""));
        assertTrue(ingress.contains("--self-managed-event-source"));
        assertTrue(ingress.contains("if [[ \"$kafka_ingress\" == service ]]; then"), "mapping only for ingress=lambda");
    }

    @Test
    void lambdaEnvironmentUsesTheFunctionsConfiguration() throws IOException {
        String confText = Files.readString(INIT.resolve("mergeline.conf"));
        Set<String> lambdaEnv = new TreeSet<>();
        Matcher m = Pattern.compile("\"([A-Z][A-Z0-9_]+)\":\"%s\"").matcher(confText);
        while (m.find()) {
            lambdaEnv.add(m.group(1));
        }
        assertTrue(lambdaEnv.containsAll(List.of("QUARKUS_FUNQY_EXPORT", "MERGELINE_BUCKET", "MERGELINE_S3_ENDPOINT",
                "MERGELINE_S3_PATH_STYLE", "MERGELINE_S3_ACCESS_KEY", "MERGELINE_S3_SECRET_KEY", "KAFKA_BOOTSTRAP_SERVERS")),
                "Lambda environment: " + lambdaEnv);
        Set<String> known = functionsEnvironment();
        for (String name : lambdaEnv) {
            assertTrue(known.contains(name), "Lambda variable " + name + " is no property of the functions");
        }
        // The Lambdas reach S3 and Kafka as the containers on the same network do.
        Map<String, String> worker = env(service("merge-worker"));
        assertEquals(worker.get("MERGELINE_S3_ENDPOINT"), conf().get("lambda_s3_endpoint"));
        assertEquals(worker.get("KAFKA_BOOTSTRAP_SERVERS"), conf().get("lambda_kafka_bootstrap"));
    }

    @Test
    void everyMergelineVariableIsAnApplicationPropertyOrADocumentedSwitch() throws IOException {
        Set<String> functions = functionsEnvironment();
        Set<String> worker = workerEnvironment();
        for (String s : STACK_SWITCHES) {
            assertFalse(functions.contains(s) || worker.contains(s), s + " must not shadow an application property");
        }
        Set<String> allowed = new TreeSet<>(STACK_SWITCHES);
        allowed.addAll(functions);
        allowed.addAll(worker);

        List<Path> files = new ArrayList<>(shellScripts());
        files.add(INIT.resolve("mergeline.conf"));
        files.add(COMPOSE);
        files.add(COMPOSE_GPU);
        for (Path file : files) {
            Set<String> used = new TreeSet<>();
            String text = Files.readString(file);
            for (Pattern p : List.of(ENV_REFERENCE, ENV_ASSIGNMENT)) {
                Matcher m = p.matcher(text);
                while (m.find()) {
                    used.add(m.group(1));
                }
            }
            used.removeAll(allowed);
            assertTrue(used.isEmpty(), ROOT.relativize(file) + " uses " + used
                    + ", which no application reads (nor is it one of the switches " + STACK_SWITCHES + ")");
        }

        // Container environments: each variable belongs to the container's own application.
        assertServiceEnvironment("merge-worker", worker);
        assertServiceEnvironment("functions", functions);

        String readme = Files.readString(LOCALSTACK.resolve("README.md"));
        for (String s : STACK_SWITCHES) {
            assertTrue(readme.contains(s), "localstack/README.md must document " + s);
        }
    }

    // ---------------------------------------------------------------- compose structure

    @Test
    void composeFileHasTheTopologyOnOneNetwork() throws IOException {
        Map<String, Object> compose = compose();
        Map<String, Object> services = map(compose.get("services"));
        assertTrue(services.keySet().containsAll(List.of("kafka", "kafka-init", "localstack", "merge-worker", "functions")),
                "services: " + services.keySet());

        Map<String, Object> networks = map(compose.get("networks"));
        assertEquals(1, networks.size(), "one network: " + networks.keySet());
        String networkKey = networks.keySet().iterator().next();
        String networkName = String.valueOf(map(networks.get(networkKey)).get("name"));
        for (Map.Entry<String, Object> s : services.entrySet()) {
            assertEquals(List.of(networkKey), map(s.getValue()).get("networks"), s.getKey() + " networks");
        }

        // LocalStack: the services, Lambda containers on the compose network, Docker socket, init hooks, token.
        Map<String, Object> localstack = service("localstack");
        Map<String, String> lsEnv = env(localstack);
        assertTrue(String.valueOf(localstack.get("image")).startsWith("localstack/localstack:"));
        assertEquals(Set.of("s3", "lambda", "iam", "logs"), Set.of(lsEnv.get("SERVICES").split(",")));
        assertEquals(networkName, lsEnv.get("LAMBDA_DOCKER_NETWORK"));
        assertTrue(lsEnv.get("LOCALSTACK_AUTH_TOKEN").startsWith("${LOCALSTACK_AUTH_TOKEN:?"),
                "the auth token comes from the environment, never from the file");
        assertEquals("${MERGELINE_KAFKA_INGRESS:-service}", lsEnv.get("MERGELINE_KAFKA_INGRESS"));
        assertTrue(String.valueOf(localstack.get("ports")).contains("4566:4566"));
        assertEquals("/var/run/docker.sock", volumeTarget(localstack, "/var/run/docker.sock"));
        assertEquals("/etc/localstack/init/ready.d", volumeTarget(localstack, "./init"));
        assertTrue(String.valueOf(map(localstack.get("healthcheck")).get("test")).contains("/_localstack/init/ready"));
        assertEquals("service_completed_successfully", dependsOn(localstack, "kafka-init"));
        assertFalse(Files.readString(COMPOSE).matches("(?s).*LOCALSTACK_AUTH_TOKEN\\s*[:=]\\s*[A-Za-z0-9]+.*"),
                "no literal auth token");

        // Kafka: KRaft broker+controller, one listener for the network and one for the host.
        Map<String, Object> kafka = service("kafka");
        Map<String, String> kEnv = env(kafka);
        assertTrue(String.valueOf(kafka.get("image")).startsWith("apache/kafka:4.1."), "apache/kafka 4.1.x");
        assertEquals(Set.of("broker", "controller"), Set.of(kEnv.get("KAFKA_PROCESS_ROLES").split(",")));
        assertTrue(kEnv.get("KAFKA_ADVERTISED_LISTENERS").contains("//localhost:9092"));
        assertTrue(kEnv.get("KAFKA_ADVERTISED_LISTENERS").contains("//kafka:29092"));
        assertEquals("kafka:29092", env(service("merge-worker")).get("KAFKA_BOOTSTRAP_SERVERS"));
        assertTrue(String.valueOf(kafka.get("ports")).contains("9092:9092"));
        assertEquals("false", kEnv.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE"), "topics are created explicitly");
        Map<String, Object> kafkaInit = service("kafka-init");
        assertEquals(kafka.get("image"), kafkaInit.get("image"));
        assertEquals("/mergeline", volumeTarget(kafkaInit, "./kafka-init"));
        assertTrue(String.valueOf(kafkaInit.get("entrypoint")).contains("/mergeline/create-topics.sh"));
        assertEquals("service_healthy", dependsOn(kafkaInit, "kafka"));

        // The apps start once LocalStack's init hooks all succeeded.
        for (String app : List.of("merge-worker", "functions")) {
            assertEquals("service_healthy", dependsOn(service(app), "localstack"), app);
        }
        for (Path source : List.of(COMPOSE.getParent().resolve("init"), COMPOSE.getParent().resolve("kafka-init"))) {
            assertTrue(Files.isDirectory(source), source + " is mounted");
        }
    }

    @Test
    void containersReachLocalStackS3AndKafkaWithStaticTestCredentials() throws IOException {
        for (String name : List.of("merge-worker", "functions")) {
            Map<String, String> e = env(service(name));
            assertEquals("http://localstack:4566", e.get("MERGELINE_S3_ENDPOINT"), name);
            assertEquals("true", e.get("MERGELINE_S3_PATH_STYLE"), name);
            assertEquals("test", e.get("MERGELINE_S3_ACCESS_KEY"), name);
            assertEquals("test", e.get("MERGELINE_S3_SECRET_KEY"), name);
            assertEquals("kafka:29092", e.get("KAFKA_BOOTSTRAP_SERVERS"), name);
        }
        Map<String, String> functions = env(service("functions"));
        assertEquals("true", functions.get("MERGELINE_SERVICE_MODE"));
        assertEquals("${MERGELINE_KAFKA_INGRESS:-service}", functions.get("MERGELINE_KAFKA_INGRESS"));
        String script = functionsEntrypointScript();
        assertTrue(script.contains("\"$MERGELINE_KAFKA_INGRESS\" != service"), "service mode only for ingress=service");
        assertTrue(script.contains("/opt/mergeline/functions/mergeline-functions-" + projectVersion() + "-runner.jar"),
                "the runner jar of this version: " + script);
        assertEquals("/opt/mergeline/functions", volumeTarget(service("functions"), "../functions/target"));
    }

    // ---------------------------------------------------------------- worker image

    @Test
    void workerImageIsTheOneTheJibProfilesBuild() throws Exception {
        Properties p = properties(WORKER_PROPERTIES);
        assertEquals("false", p.getProperty("quarkus.container-image.build"), "no image in the default build");
        String image = p.getProperty("quarkus.container-image.group") + "/" + p.getProperty("quarkus.container-image.name");
        assertEquals("mergeline/merge-worker", image);
        assertEquals("${quarkus.application.version}", p.getProperty("quarkus.container-image.tag"));
        String version = projectVersion();
        assertEquals("${MERGELINE_WORKER_IMAGE:-" + image + ":" + version + "}", service("merge-worker").get("image"));
        Map<String, Object> gpuWorker = map(map(yaml(COMPOSE_GPU).get("services")).get("merge-worker"));
        assertEquals("${MERGELINE_WORKER_IMAGE:-" + image + ":" + version + "-cuda}", gpuWorker.get("image"));

        Document pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(WORKER_POM.toFile());
        assertTrue(Files.readString(WORKER_POM).contains("<artifactId>quarkus-container-image-jib</artifactId>"));
        Map<String, Element> profiles = new HashMap<>();
        NodeList ids = pom.getElementsByTagName("profile");
        for (int i = 0; i < ids.getLength(); i++) {
            Element profile = (Element) ids.item(i);
            profiles.put(profile.getElementsByTagName("id").item(0).getTextContent(), profile);
        }
        assertTrue(profiles.keySet().containsAll(List.of("image", "image-cuda")), "worker profiles: " + profiles.keySet());
        Element cpu = profiles.get("image");
        String docker = cpu.getElementsByTagName("mergeline.image.docker").item(0).getTextContent();
        Path tarballScript = ROOT.resolve("merge-engine/worker")
                .resolve(docker.replace("${project.basedir}/", "")).normalize();
        assertEquals(LOCALSTACK.resolve("image/jib-image-tarball.sh"), tarballScript);
        assertTrue(Files.isExecutable(tarballScript), tarballScript + " must be executable");
        assertTrue(cpu.getTextContent().contains("merge-worker-image.tar"));
        Element cuda = profiles.get("image-cuda");
        assertTrue(cuda.getTextContent().contains("${project.version}-cuda"));
        NodeList rule = cuda.getElementsByTagName("requireActiveProfile");
        assertEquals(1, rule.getLength(), "the CUDA image needs -Pgpu (enforcer requireActiveProfile)");
        assertEquals("gpu", ((Element) rule.item(0)).getElementsByTagName("profiles").item(0).getTextContent());
        String base = cuda.getElementsByTagName("mergeline.cuda-base-image").item(0).getTextContent();
        String dockerfile = Files.readString(LOCALSTACK.resolve("image/cuda-jre17.Dockerfile"));
        String baseTag = base.replace("docker://", "");
        assertTrue(dockerfile.contains("docker build -t " + baseTag + " "), "the Dockerfile documents how to build " + baseTag);
        assertTrue(dockerfile.contains("nvidia/cuda:12.") && dockerfile.contains("-cudnn-runtime-ubuntu22.04"));
    }

    // ---------------------------------------------------------------- helpers

    private void assertServiceEnvironment(String service, Set<String> known) throws IOException {
        for (String name : env(service(service)).keySet()) {
            if (name.startsWith("MERGELINE_") || name.equals("KAFKA_BOOTSTRAP_SERVERS")) {
                assertTrue(known.contains(name) || STACK_SWITCHES.contains(name),
                        "compose service " + service + " sets " + name + ", which its application does not read");
            }
        }
    }

    /** Every environment variable the functions read: their properties, @ConfigMapping and ${VAR} references. */
    private static Set<String> functionsEnvironment() throws IOException {
        return environmentOf(FUNCTIONS_PROPERTIES, FUNCTIONS_CONFIG, SHARED_CONFIG);
    }

    private static Set<String> workerEnvironment() throws IOException {
        return environmentOf(WORKER_PROPERTIES, WORKER_CONFIG, SHARED_CONFIG);
    }

    private static Set<String> environmentOf(Path propertiesFile, Path... configMappings) throws IOException {
        Set<String> names = new TreeSet<>();
        Properties p = properties(propertiesFile);
        for (String key : p.stringPropertyNames()) {
            names.add(toEnv(key.replaceFirst("^%[^.]+\\.", "")));
            Matcher m = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)[:}]").matcher(p.getProperty(key));
            while (m.find()) {
                names.add(m.group(1));
            }
        }
        for (Path configMapping : configMappings) {
            for (String property : configMappingProperties(configMapping)) {
                names.add(toEnv(property));
            }
        }
        assertTrue(names.containsAll(List.of("MERGELINE_BUCKET", "MERGELINE_S3_ENDPOINT", "MERGELINE_S3_PATH_STYLE",
                "MERGELINE_S3_ACCESS_KEY", "MERGELINE_S3_SECRET_KEY", "KAFKA_BOOTSTRAP_SERVERS")),
                propertiesFile + " + " + List.of(configMappings) + ": " + names);
        return names;
    }

    /** SmallRye Config's environment-variable form: upper case, every other character an underscore. */
    private static String toEnv(String property) {
        return property.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
    }

    /**
     * The leaf properties of a {@code @ConfigMapping} interface (nested interfaces become path segments,
     * method names kebab-case), read from its source.
     */
    static Set<String> configMappingProperties(Path source) throws IOException {
        String text = Files.readString(source);
        Matcher prefixMatcher = Pattern.compile("@ConfigMapping\\(prefix\\s*=\\s*\"([^\"]+)\"\\)\\s*public\\s+interface\\s+(\\w+)")
                .matcher(text);
        assertTrue(prefixMatcher.find(), "no @ConfigMapping in " + source);
        Map<String, List<String[]>> methods = new LinkedHashMap<>();
        Deque<String[]> stack = new ArrayDeque<>(); // {interface name, depth at which it was opened}
        int depth = 0;
        Pattern iface = Pattern.compile("\\binterface\\s+(\\w+)");
        Pattern method = Pattern.compile("^\\s*([A-Za-z][\\w<>?,. ]*?)\\s+(\\w+)\\(\\)\\s*;");
        for (String line : text.split("\n")) {
            String code = line.replaceAll("\"([^\"\\\\]|\\\\.)*\"", "\"\"").replaceAll("//.*", "");
            Matcher im = iface.matcher(code);
            if (im.find()) {
                stack.push(new String[] {im.group(1), String.valueOf(depth)});
                methods.putIfAbsent(im.group(1), new ArrayList<>());
            } else if (!stack.isEmpty()) {
                Matcher mm = method.matcher(code);
                if (mm.find()) {
                    methods.get(stack.peek()[0]).add(new String[] {mm.group(1).trim(), mm.group(2)});
                }
            }
            for (char c : code.toCharArray()) {
                if (c == '{') {
                    depth++;
                } else if (c == '}') {
                    depth--;
                    while (!stack.isEmpty() && Integer.parseInt(stack.peek()[1]) >= depth) {
                        stack.pop();
                    }
                }
            }
        }
        Set<String> out = new TreeSet<>();
        expand(prefixMatcher.group(1), prefixMatcher.group(2), methods, out);
        return out;
    }

    private static void expand(String prefix, String iface, Map<String, List<String[]>> methods, Set<String> out) {
        for (String[] m : methods.getOrDefault(iface, List.of())) {
            String path = prefix + "." + m[1].replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
            if (methods.containsKey(m[0])) {
                expand(path, m[0], methods, out);
            } else {
                out.add(path);
            }
        }
    }

    private static Properties properties(Path file) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        }
        return p;
    }

    /** {@code name=value} lines of init/mergeline.conf. */
    private static Map<String, String> conf() throws IOException {
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : Files.readAllLines(INIT.resolve("mergeline.conf"))) {
            Matcher m = Pattern.compile("^([a-z_][a-z0-9_]*)=([^\\s\"'$]+)$").matcher(line);
            if (m.matches()) {
                values.put(m.group(1), m.group(2));
            }
        }
        return values;
    }

    private static Set<String> createdTopics() throws IOException {
        String text = Files.readString(TOPICS_SCRIPT);
        Matcher m = Pattern.compile("(?s)\\ntopics=\\((.*?)\\n\\)").matcher(text);
        assertTrue(m.find(), "topics=( … ) in " + TOPICS_SCRIPT);
        Set<String> topics = new LinkedHashSet<>();
        for (String line : m.group(1).split("\n")) {
            String entry = line.replaceAll("#.*", "").trim();
            if (!entry.isEmpty()) {
                topics.add(entry);
            }
        }
        assertTrue(text.contains("kafka-topics.sh --bootstrap-server \"$bootstrap\" --create --if-not-exists"));
        assertTrue(text.contains("for topic in \"${topics[@]}\"; do"));
        return topics;
    }

    private static List<Path> initScripts() throws IOException {
        try (Stream<Path> s = Files.list(INIT)) {
            List<Path> scripts = s.filter(p -> p.getFileName().toString().endsWith(".sh")).sorted().toList();
            for (Path p : scripts) {
                assertTrue(p.getFileName().toString().matches("\\d\\d_[a-z0-9_]+\\.sh"), "numbered init script: " + p);
            }
            return scripts;
        }
    }

    /**
     * The shell scripts of the LocalStack deployment and the image build (init/, kafka-init/, image/).
     * The embedded stack's scripts (embedded.sh, demo.sh) are not part of this deployment.
     */
    /** The Docker-free stack's scripts: strict bash that parses, and shellcheck-clean where shellcheck exists. */
    @Test
    void embeddedStackScriptsParseAndPassShellcheck() throws Exception {
        for (String name : List.of("embedded.sh", "demo.sh")) {
            Path script = LOCALSTACK.resolve(name);
            assertTrue(Files.isExecutable(script), name + " must be executable");
            assertTrue(Files.readString(script).contains("set -euo pipefail"), name + " must use strict mode");
            Result syntax = run(LOCALSTACK, "bash", "-n", script.toString());
            assertEquals(0, syntax.exit, "bash -n " + name + ":\n" + syntax.output);
            Optional<Path> shellcheck = onPath("shellcheck");
            if (shellcheck.isPresent()) {
                Result r = run(LOCALSTACK, shellcheck.get().toString(), "--shell=bash", script.toString());
                assertEquals(0, r.exit, "shellcheck " + name + ":\n" + r.output);
            }
        }
    }

    private static List<Path> shellScripts() throws IOException {
        List<Path> scripts = new ArrayList<>();
        for (String dir : List.of("init", "kafka-init", "image")) {
            try (Stream<Path> s = Files.walk(LOCALSTACK.resolve(dir))) {
                s.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().endsWith(".sh")).forEach(scripts::add);
            }
        }
        scripts.sort(null);
        return scripts;
    }

    private static Map<String, Object> compose() throws IOException {
        return yaml(COMPOSE);
    }

    private static Map<String, Object> yaml(Path file) throws IOException {
        Object doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file));
        assertNotNull(doc, file + " is empty");
        return map(doc);
    }

    private static Map<String, Object> service(String name) throws IOException {
        Object s = map(compose().get("services")).get(name);
        assertNotNull(s, "compose service " + name);
        return map(s);
    }

    private static Map<String, String> env(Map<String, Object> service) {
        Map<String, String> e = new LinkedHashMap<>();
        Object env = service.get("environment");
        if (env instanceof Map<?, ?> m) {
            m.forEach((k, v) -> e.put(String.valueOf(k), String.valueOf(v)));
        } else if (env instanceof List<?> l) {
            for (Object item : l) {
                String[] kv = String.valueOf(item).split("=", 2);
                e.put(kv[0], kv.length > 1 ? kv[1] : "");
            }
        }
        return e;
    }

    /** The target of the volume whose source is {@code source} (long or short syntax). */
    private static String volumeTarget(Map<String, Object> service, String source) {
        Object volumes = service.get("volumes");
        if (volumes instanceof List<?> list) {
            for (Object v : list) {
                if (v instanceof Map<?, ?> m && source.equals(String.valueOf(m.get("source")))) {
                    return String.valueOf(m.get("target"));
                }
                if (v instanceof String s && s.startsWith(source + ":")) {
                    return s.substring(source.length() + 1).replaceAll(":(ro|rw)$", "");
                }
            }
        }
        return fail("no volume from " + source + " in " + volumes);
    }

    private static String dependsOn(Map<String, Object> service, String other) {
        Object deps = service.get("depends_on");
        if (deps instanceof Map<?, ?> m && m.get(other) instanceof Map<?, ?> d) {
            return String.valueOf(d.get("condition"));
        }
        return fail("no depends_on " + other + " with a condition: " + deps);
    }

    private static String functionsEntrypointScript() throws IOException {
        Object entrypoint = service("functions").get("entrypoint");
        assertTrue(entrypoint instanceof List<?> l && l.size() == 3 && "-c".equals(l.get(1)), "bash -c <script>: " + entrypoint);
        return String.valueOf(((List<?>) entrypoint).get(2)).replace("$$", "$");
    }

    /** dev.mergeline's version, from the root pom. */
    private static String projectVersion() throws IOException {
        Matcher m = Pattern.compile("<artifactId>mergeline-parent</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(ROOT.resolve("pom.xml")));
        assertTrue(m.find(), "root pom version");
        return m.group(1);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        assertTrue(o instanceof Map, "expected a mapping, got " + o);
        return (Map<String, Object>) o;
    }

    private static Optional<Path> onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir, command);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private record Result(int exit, String output) {}

    private static Result run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return fail("timed out: " + String.join(" ", command));
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
