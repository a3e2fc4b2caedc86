package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;

/** The documented synthesis path: cdk.json context + key=value arguments → cdk.out. */
class MergelineAppTest {

    @Test
    @SuppressWarnings("unchecked")
    void writesTheCloudAssemblyAndFlagsExampleValues(@TempDir Path infraDir) throws Exception {
        Path repoCdkJson = Path.of("cdk.json");
        assertTrue(Files.isRegularFile(repoCdkJson), "run from infra/");
        Map<String, Object> cdkJson = new ObjectMapper().readValue(repoCdkJson.toFile(), Map.class);
        Map<String, Object> context = (Map<String, Object>) cdkJson.get("context");
        context.put("functionCode", Synth.functionAsset().toString());
        new ObjectMapper().writeValue(infraDir.resolve("cdk.json").toFile(), cdkJson);

        String before = System.getProperty("mergeline.infra.dir");
        System.setProperty("mergeline.infra.dir", infraDir.toString());
        try {
            MergelineApp.main(new String[] {"workerMaxTasks=3", "-c", "stackName=MergelineTest"});
        } finally {
            if (before == null) {
                System.clearProperty("mergeline.infra.dir");
            } else {
                System.setProperty("mergeline.infra.dir", before);
            }
        }

        Path out = infraDir.resolve("cdk.out");
        assertTrue(Files.isRegularFile(out.resolve("manifest.json")));
        Map<String, Object> template = new ObjectMapper().readValue(
                out.resolve("MergelineTest.template.json").toFile(), Map.class);
        Map<String, Object> resources = (Map<String, Object>) template.get("Resources");
        Map<String, Object> asg = resources.values().stream().map(r -> (Map<String, Object>) r)
                .filter(r -> "AWS::AutoScaling::AutoScalingGroup".equals(r.get("Type"))).findFirst().orElseThrow();
        assertEquals("3", ((Map<String, Object>) asg.get("Properties")).get("MaxSize"));

        // cdk.json's example Kafka values are flagged as an error, which `cdk deploy` refuses
        String metadata = Files.readString(out.resolve("MergelineTest.metadata.json"));
        assertTrue(metadata.contains("aws:cdk:error"), metadata);
        assertTrue(metadata.contains("mskClusterArn") && metadata.contains("kafkaBootstrapServers"), metadata);
        assertTrue(List.of(context.get("mskClusterArn"), context.get("kafkaBootstrapServers")).stream()
                .allMatch(v -> String.valueOf(v).contains(MergelineConfig.PLACEHOLDER)));
    }
}
