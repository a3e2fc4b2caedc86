package dev.mergeline.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.quarkus.MergelineSettings;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The functions' own mapping and the shared settings read the same {@code mergeline.*} properties side by side. */
class FunctionsConfigTest {

    @Test
    void sharedSettingsAndBaseAliasesComeFromOnePrefix() {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(FunctionsConfig.class)
                .withMapping(MergelineSettings.class)
                .withSources(new PropertiesConfigSource(Map.of(
                        "mergeline.bucket", "acme",
                        "mergeline.limits.max-adapter-bytes", "1024",
                        "mergeline.base-aliases.\"/tmp/training/base\"", "tiny-llama"), "test", 100))
                .build();
        assertEquals(Map.of("/tmp/training/base", "tiny-llama"),
                config.getConfigMapping(FunctionsConfig.class).baseAliases());
        MergelineSettings settings = config.getConfigMapping(MergelineSettings.class);
        assertEquals("acme", settings.bucket());
        assertEquals(OptionalLong.of(1024), settings.limits().maxAdapterBytes());
        assertEquals(1024, settings.limits().inputLimits().maxAdapterBytes());
        assertEquals(4, settings.s3().settings().maxAttempts());
    }
}
