package dev.mergeline.infra;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import software.amazon.awscdk.App;
import software.amazon.awscdk.AppProps;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.StackProps;

/**
 * Synthesizes the Mergeline stack into a cloud assembly ({@code cdk.out}).
 *
 * <ul>
 * <li>{@code ./mvnw -B -pl infra compile exec:java [-Dexec.args="key=value …"]}: reads the context
 * of {@code infra/cdk.json}, then the {@code key=value} arguments, and writes {@code infra/cdk.out}.
 * No npm, no cdk CLI: the jsii runtime in the CDK jars runs the CDK on the machine's Node.js.</li>
 * <li>{@code cdk synth|deploy} (run in {@code infra/}): the CDK CLI runs this class through
 * {@code cdk.json}'s {@code app} and passes context and output directory itself.</li>
 * </ul>
 */
public final class MergelineApp {

    private MergelineApp() {
    }

    public static void main(String[] args) throws IOException {
        Path infraDir = Path.of(System.getProperty("mergeline.infra.dir", ".")).toAbsolutePath().normalize();
        boolean underCdkCli = System.getenv("CDK_OUTDIR") != null || System.getenv("CDK_CONTEXT_JSON") != null;

        AppProps.Builder props = AppProps.builder();
        if (!underCdkCli) {
            Map<String, Object> context = new LinkedHashMap<>(cdkJsonContext(infraDir.resolve("cdk.json")));
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if ((arg.equals("-c") || arg.equals("--context")) && i + 1 < args.length) {
                    arg = args[++i];
                }
                int eq = arg.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("expected key=value, got: " + arg);
                }
                context.put(arg.substring(0, eq), arg.substring(eq + 1));
            }
            props.context(context).outdir(infraDir.resolve("cdk.out").toString());
        }
        App app = new App(props.build());

        MergelineConfig config = MergelineConfig.fromContext(key -> app.getNode().tryGetContext(key), infraDir);
        Object stackName = app.getNode().tryGetContext("stackName");
        new MergelineStack(app, stackName == null ? "Mergeline" : stackName.toString(), StackProps.builder()
                .env(environment())
                .description("Mergeline: PEFT adapter validation and GPU merging (bucket, Lambdas, ECS GPU worker)")
                .build(), config);
        var assembly = app.synth();
        System.out.println("cloud assembly written to " + assembly.getDirectory());
    }

    /** The CLI's account/region when it provides them; otherwise an environment-agnostic stack. */
    private static Environment environment() {
        String account = System.getenv("CDK_DEFAULT_ACCOUNT");
        String region = System.getenv("CDK_DEFAULT_REGION");
        if (account == null && region == null) {
            return null;
        }
        return Environment.builder().account(account).region(region).build();
    }

    static Map<String, Object> cdkJsonContext(Path cdkJson) throws IOException {
        if (!Files.isRegularFile(cdkJson)) {
            return Map.of();
        }
        Map<String, Object> json = new ObjectMapper().readValue(cdkJson.toFile(), new TypeReference<>() {
        });
        Object context = json.get("context");
        if (context instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(k.toString(), v));
            return out;
        }
        return Map.of();
    }
}
