package dev.mergeline.devstack;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

/**
 * Finds the jars the child processes run from: the Kafka broker's classpath and the S3Mock
 * executable jar.
 *
 * <p><b>How the lookup works.</b> At build time {@code maven-dependency-plugin:build-classpath}
 * resolves this module's runtime dependencies into the local Maven repository and writes two
 * resources next to this class: {@code kafka.classpath} (kafka_2.13 and everything it needs, plus
 * the log4j SLF4J binding) and {@code s3mock.classpath} (the one {@code s3mock-<v>-exec.jar}).
 * Each entry starts with the placeholder {@value #REPO_PLACEHOLDER} instead of the repository path;
 * resource filtering records the repository used at build time in {@code devstack-build.properties}.
 * At run time the placeholder is replaced by the first of these repositories that holds every
 * entry: the {@code maven.repo.local} system property, the build-time repository,
 * {@code ~/.m2/repository}. The jars themselves are never copied or shipped: a consumer's test JVM
 * (which has only {@code mergeline-devstack.jar} and {@code kafka-clients} on its classpath) finds
 * them where Maven put them when this module was built, so the module's jar stays small. Those
 * dependencies are {@code <optional>} here, so they are resolved for this module but never land on
 * a consumer's classpath (the broker's Scala, log4j and Jackson cannot clash with Quarkus, and the
 * Spring Boot jar is started only with {@code java -jar}).
 *
 * <p>Fallback for Kafka when the resource is missing (an IDE build that skipped the Maven
 * resource phase): the current JVM's {@code java.class.path}, if it contains {@code kafka_2.13}.
 */
final class DevstackArtifacts {

    static final String REPO_PLACEHOLDER = "@M2_REPO@";

    private DevstackArtifacts() {
    }

    /** Absolute paths of the Kafka broker's classpath entries. */
    static List<Path> kafkaClasspath() {
        String raw = resource("kafka.classpath");
        if (raw == null) {
            String cp = System.getProperty("java.class.path", "");
            if (cp.contains("kafka_2.13")) {
                List<Path> fromJvm = new ArrayList<>();
                for (String entry : cp.split(java.io.File.pathSeparator)) {
                    if (!entry.isBlank()) {
                        fromJvm.add(Path.of(entry));
                    }
                }
                return fromJvm;
            }
            throw new IllegalStateException("dev/mergeline/devstack/kafka.classpath is not on the classpath and "
                    + "java.class.path has no kafka_2.13 jar; build the module with "
                    + "./mvnw -B -pl merge-engine/devstack -am install");
        }
        return resolve("kafka.classpath", raw);
    }

    /** Absolute path of the S3Mock Spring Boot executable jar. */
    static Path s3MockJar() {
        String raw = resource("s3mock.classpath");
        if (raw == null) {
            throw new IllegalStateException("dev/mergeline/devstack/s3mock.classpath is not on the classpath; "
                    + "build the module with ./mvnw -B -pl merge-engine/devstack -am install");
        }
        List<Path> jars = resolve("s3mock.classpath", raw);
        if (jars.size() != 1) {
            throw new IllegalStateException("s3mock.classpath should name exactly one jar: " + jars);
        }
        return jars.get(0);
    }

    private static List<Path> resolve(String name, String raw) {
        List<String> entries = new ArrayList<>();
        for (String entry : raw.trim().split(":")) {
            if (!entry.isBlank()) {
                entries.add(entry.trim());
            }
        }
        if (entries.isEmpty()) {
            throw new IllegalStateException(name + " is empty");
        }
        Set<String> repos = new LinkedHashSet<>();
        String sysRepo = System.getProperty("maven.repo.local");
        if (sysRepo != null && !sysRepo.isBlank()) {
            repos.add(sysRepo);
        }
        String buildRepo = buildProperties().getProperty("local.repository");
        if (buildRepo != null && !buildRepo.isBlank() && !buildRepo.contains("${")) {
            repos.add(buildRepo);
        }
        repos.add(Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
        for (String repo : repos) {
            List<Path> paths = new ArrayList<>();
            boolean all = true;
            for (String entry : entries) {
                Path p = Path.of(entry.replace(REPO_PLACEHOLDER, repo));
                if (!Files.isRegularFile(p)) {
                    all = false;
                    break;
                }
                paths.add(p);
            }
            if (all) {
                return paths;
            }
        }
        throw new IllegalStateException("the jars listed in " + name + " are in none of the local Maven "
                + "repositories " + repos + " (first entry: " + entries.get(0) + "); build the module with "
                + "./mvnw -B -pl merge-engine/devstack -am install, or set -Dmaven.repo.local");
    }

    static Properties buildProperties() {
        Properties props = new Properties();
        try (InputStream in = DevstackArtifacts.class.getResourceAsStream("devstack-build.properties")) {
            if (in != null) {
                props.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return props;
    }

    private static String resource(String name) {
        try (InputStream in = DevstackArtifacts.class.getResourceAsStream(name)) {
            return in == null ? null : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
