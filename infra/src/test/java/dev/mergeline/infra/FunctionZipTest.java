package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import software.amazon.awscdk.assertions.Template;

/**
 * The synthesized template against the function code it ships: the real
 * {@code functions/target/function.zip} (no placeholder). In the root build the functions module
 * is packaged before infra (module order in the root pom.xml, asserted below), so the zip exists
 * when this runs; {@code ./mvnw -pl infra test} alone skips these tests unless the zip was built
 * ({@code ./mvnw -B -pl functions -am package -DskipTests}).
 */
class FunctionZipTest {

    private static Path zip;
    private static Template template;
    private static Template scramTemplate;
    private static FunctionZip code;

    @BeforeAll
    static void synthesizeWithTheRealZip() throws Exception {
        zip = FunctionZip.defaultPath();
        if (Files.isRegularFile(zip)) {
            template = Synth.synth(Synth.mskConfig().functionCode(zip).build());
            scramTemplate = Synth.synth(Synth.variantConfig().functionCode(zip).build());
            code = FunctionZip.open(zip);
        }
    }

    private static void requireZip() {
        assumeTrue(code != null, "functions/target/function.zip is not built (" + zip
                + "): run ./mvnw -B -pl functions -am package -DskipTests, or the root ./mvnw verify");
    }

    @AfterAll
    static void cleanUp() {
        if (code != null) {
            code.close();
        }
    }

    @Test
    void everyHandlerIsAStreamHandlerThatTheZipShips() throws Exception {
        requireZip();
        Map<String, Map<String, Object>> functions = Cfn.resources(template, "AWS::Lambda::Function");
        assertEquals(2, functions.size());
        Class<?> streamHandler = code.load("com.amazonaws.services.lambda.runtime.RequestStreamHandler");
        Class<?> context = code.load("com.amazonaws.services.lambda.runtime.Context");
        for (Map<String, Object> fn : functions.values()) {
            String handler = (String) fn.get("Handler");
            String[] parts = handler.split("::");
            assertEquals(2, parts.length, handler);
            // ClassNotFoundException here: the template names a class that function.zip does not contain
            Class<?> type = code.load(parts[0]);
            assertTrue(streamHandler.isAssignableFrom(type), handler + " is not a RequestStreamHandler");
            assertFalse(Modifier.isAbstract(type.getModifiers()), handler);
            Method m = type.getMethod(parts[1], InputStream.class, OutputStream.class, context);
            assertTrue(Modifier.isPublic(m.getModifiers()), handler);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyKafkaLoginModuleAndCallbackTheFunctionsAreConfiguredWithIsInTheZip() throws Exception {
        requireZip();
        Class<?> callbackApi = code.load("org.apache.kafka.common.security.auth.AuthenticateCallbackHandler");
        Class<?> loginApi = code.load("javax.security.auth.spi.LoginModule");
        List<String> checked = new ArrayList<>();
        for (Template t : List.of(template, scramTemplate)) {
            for (Map<String, Object> fn : Cfn.resources(t, "AWS::Lambda::Function").values()) {
                Map<String, Object> vars = (Map<String, Object>) ((Map<String, Object>) fn.get("Environment"))
                        .get("Variables");
                String callback = (String) vars.get("KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS");
                assertTrue(callbackApi.isAssignableFrom(code.load(callback)), callback);
                String login = ((String) vars.get("KAFKA_SASL_JAAS_CONFIG")).split(" ")[0];
                assertTrue(loginApi.isAssignableFrom(code.load(login)), login);
                checked.add(callback);
            }
        }
        // IAM (MSK) and SCRAM (self-managed), two functions each
        assertEquals(List.of("software.amazon.msk.auth.iam.IAMClientCallbackHandler",
                "software.amazon.msk.auth.iam.IAMClientCallbackHandler", KafkaClients.SCRAM_SECRET_CALLBACK,
                KafkaClients.SCRAM_SECRET_CALLBACK), checked);
    }

    @Test
    void eachLambdaExportsAFunqyFunctionOfTheZip() throws Exception {
        requireZip();
        List<String> funq = new ArrayList<>();
        for (String name : code.rootClasses("dev.mergeline.functions")) {
            for (Method m : code.load(name).getDeclaredMethods()) {
                if (java.util.Arrays.stream(m.getAnnotations())
                        .anyMatch(a -> a.annotationType().getName().equals("io.quarkus.funqy.Funq"))) {
                    funq.add(m.getName());
                }
            }
        }
        assertFalse(funq.isEmpty(), "no @Funq method found in function.zip");
        for (Map<String, Object> fn : Cfn.resources(template, "AWS::Lambda::Function").values()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> vars = (Map<String, Object>) ((Map<String, Object>) fn.get("Environment"))
                    .get("Variables");
            Object export = vars.get("QUARKUS_FUNQY_EXPORT");
            assertTrue(funq.contains(export), "QUARKUS_FUNQY_EXPORT=" + export + " is none of " + funq);
        }
    }

    @Test
    void eventSourceMappingUsesTheConsumerGroupOfTheFunctionsConfiguration() throws Exception {
        requireZip();
        Properties props = code.applicationProperties();
        String group = props.getProperty("mp.messaging.incoming.adapter-uploads.group.id");
        String topic = props.getProperty("mp.messaging.incoming.adapter-uploads.topic");
        Map<String, Object> esm = Cfn.resources(template, "AWS::Lambda::EventSourceMapping").values().iterator()
                .next();
        assertEquals(Map.of("ConsumerGroupId", group), esm.get("AmazonManagedKafkaEventSourceConfig"));
        assertEquals(List.of(topic), esm.get("Topics"));
    }

    /** Native libraries that have no build for every architecture, and why they never load in the functions. */
    private static final Map<String, String> NOT_LOADED_NATIVES = Map.of(
            "com.aayushatharva.brotli4j.native-linux-x86_64",
            "Brotli serves Vert.x HTTP compression only, which the Lambda handler path does not run");

    @Test
    @SuppressWarnings("unchecked")
    void everyNativeLibraryOfTheZipHasABuildForTheLambdaArchitecture() throws Exception {
        requireZip();
        List<String> architectures = (List<String>) Cfn.resources(template, "AWS::Lambda::Function").values()
                .iterator().next().get("Architectures");
        String wanted = architectures.equals(List.of("arm64")) ? "aarch64" : "x86_64";
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (Path jar : code.libraries()) {
            String name = jar.getFileName().toString();
            List<String> linuxNatives = new ArrayList<>();
            try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(jar.toFile())) {
                z.stream().map(java.util.zip.ZipEntry::getName)
                        .filter(n -> n.endsWith(".so") && n.toLowerCase(java.util.Locale.ROOT).contains("linux")
                                && !n.contains("android") && !n.contains("musl"))
                        .forEach(linuxNatives::add);
            }
            if (linuxNatives.isEmpty() || NOT_LOADED_NATIVES.keySet().stream().anyMatch(name::startsWith)) {
                continue;
            }
            checked++;
            boolean has = linuxNatives.stream().anyMatch(n -> wanted.equals("aarch64")
                    ? n.contains("aarch64") || n.contains("arm64")
                    : n.contains("x86_64") || n.contains("amd64"));
            if (!has) {
                missing.add(name + " " + linuxNatives);
            }
        }
        assertTrue(checked >= 3, "expected the Kafka codecs' natives (zstd, snappy, lz4) in function.zip");
        assertTrue(missing.isEmpty(), "no " + wanted + " build in: " + missing);
    }

    @Test
    void theZipCarriesQuarkusSnapStartSupport() throws Exception {
        requireZip();
        // the build-time step that prepares the application for SnapStart's snapshot, and the CRaC API
        assertTrue(code.rootClasses("io.quarkus.runner.recorded").stream()
                .anyMatch(c -> c.startsWith("io.quarkus.runner.recorded.SnapStartProcessor")));
        assertTrue(code.libraries().stream().anyMatch(p -> p.getFileName().toString().startsWith("org.crac.crac-")));
        code.load("org.crac.Resource");
    }

    @Test
    void rootBuildPackagesTheFunctionsBeforeInfra() throws Exception {
        String pom = Files.readString(zip.getParent().getParent().getParent().resolve("pom.xml"));
        // not only by accident: infra declares no dependency on the functions module, so this order is what holds
        int functions = pom.indexOf("<module>functions</module>");
        int infra = pom.indexOf("<module>infra</module>");
        assertTrue(functions > 0 && infra > functions,
                "the root pom must list functions before infra (this test needs function.zip)");
    }
}
