package dev.mergeline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.onnx.OnnxMergeKernel;
import dev.mergeline.safetensors.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrtProfileSummaryTest {

    @Test
    void summarisesTheTraceOfRealRuns(@TempDir Path dir) throws IOException {
        System.setProperty("mergeline.ort.profile", dir.resolve("ort").toString());
        int runs = 3;
        try (OnnxMergeKernel kernel = OnnxMergeKernel.create(false)) {
            ByteBuffer in = ByteBuffer.allocateDirect(4096).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer out = ByteBuffer.allocateDirect(2048);
            for (int i = 0; i < runs; i++) {
                kernel.convert(in, DType.F32, out, DType.BF16, 1024);
            }
        } finally {
            System.clearProperty("mergeline.ort.profile");
        }
        Path[] traces;
        try (Stream<Path> files = Files.list(dir)) {
            traces = files.toArray(Path[]::new);
        }
        assertEquals(1, traces.length, List.of(traces).toString());

        OrtProfileSummary.Totals totals = OrtProfileSummary.summarize(traces);

        assertTrue(totals.runMicros() > 0 && totals.executeMicros() > 0, totals.toString());
        assertTrue(totals.executeMicros() <= totals.runMicros(), totals.toString());
        assertEquals(List.of("Cast"), List.copyOf(totals.nodeMicrosByOp().keySet()), "a conversion is one Cast node");
        assertEquals(0, totals.memcpyNodeMicros(), "the CPU provider copies nothing");
        assertEquals(totals.runMicros(), totals.transferMicros() + totals.computeMicros());
        assertTrue(totals.describe().contains("nodes by op (s): {Cast="), totals.describe());
    }
}
