package dev.mergeline.events;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The wire contract drags nothing into its consumers but Jackson. */
class ContractDependenciesTest {

    @Test
    void theOnlyNonTestDependencyIsJackson() throws Exception {
        String pom = Files.readString(Path.of("pom.xml"));
        Matcher dependency = Pattern.compile("<dependency>(.*?)</dependency>", Pattern.DOTALL).matcher(pom);
        List<String> runtime = new ArrayList<>();
        while (dependency.find()) {
            String d = dependency.group(1);
            if (!d.contains("<scope>test</scope>")) {
                Matcher artifact = Pattern.compile("<artifactId>([^<]+)</artifactId>").matcher(d);
                runtime.add(artifact.find() ? artifact.group(1) : d);
            }
        }
        assertEquals(List.of("jackson-databind"), runtime);
    }

    @Test
    void noSourceImportsTheEngine() throws Exception {
        try (var files = Files.walk(Path.of("src/main/java"))) {
            List<String> offenders = files.filter(f -> f.toString().endsWith(".java")).filter(f -> {
                try {
                    return Pattern.compile("dev\\.mergeline\\.(core|safetensors|s3|onnx)\\.")
                            .matcher(Files.readString(f)).find();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).map(Path::toString).toList();
            assertEquals(List.of(), offenders);
        }
    }
}
