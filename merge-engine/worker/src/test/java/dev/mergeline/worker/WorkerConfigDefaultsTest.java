package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.core.merge.MergeExecutor;
import io.smallrye.config.WithDefault;
import org.junit.jupiter.api.Test;

/** The worker's defaults that restate an engine default agree with it. */
class WorkerConfigDefaultsTest {

    @Test
    void mergeBlockSizeDefaultsToTheEngineDefault() throws NoSuchMethodException {
        String value = WorkerConfig.class.getMethod("mergeBlockSize").getAnnotation(WithDefault.class).value();
        assertEquals(MergeExecutor.DEFAULT_BLOCK_BYTES, mebibytes(value), value);
    }

    /** "8M" as Quarkus' MemorySize reads it: binary units. */
    private static long mebibytes(String value) {
        if (!value.endsWith("M")) {
            throw new IllegalArgumentException("expected a size in M, got " + value);
        }
        return Long.parseLong(value.substring(0, value.length() - 1)) << 20;
    }
}
