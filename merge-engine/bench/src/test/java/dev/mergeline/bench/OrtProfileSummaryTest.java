package dev.mergeline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.onnx.OnnxMergeKernel;
import dev.mergeline.safetensors.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrtProfileSummaryTest {

    @Test
    void summarisesTheTracesOfRealRunsOnTheCpu(@TempDir Path dir) throws IOException {
        System.setProperty("mergeline.ort.profile", dir.resolve("ort").toString());
        try (OnnxMergeKernel kernel = OnnxMergeKernel.create(false)) {
            ByteBuffer in = ByteBuffer.allocateDirect(4096).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer out = ByteBuffer.allocateDirect(2048);
            for (int i = 0; i < 3; i++) {
                kernel.convert(in, DType.F32, out, DType.BF16, 1024);
            }
        } finally {
            System.clearProperty("mergeline.ort.profile");
        }
        Path[] traces;
        try (Stream<Path> files = Files.list(dir)) {
            traces = files.toArray(Path[]::new);
        }
        // The start-up probe ran the low-rank graphs too: one trace per session, none overwritten.
        assertTrue(traces.length >= 5, traces.length + " traces");

        OrtProfileSummary.Totals totals = OrtProfileSummary.summarize(traces);

        assertTrue(totals.runMicros() > 0 && totals.executeMicros() > 0, totals.toString());
        assertTrue(totals.executeMicros() <= totals.runMicros(), totals.toString());
        // the CPU kernel fixes the scale into its low-rank graphs: FusedMatMul, not MatMul and Mul
        assertTrue(totals.nodeMicrosByOp().keySet().containsAll(java.util.List.of("Cast", "FusedMatMul", "Add")),
                totals.nodeMicrosByOp().toString());
        assertEquals(0, totals.memcpyNodeMicros(), "the CPU provider copies nothing");
        assertEquals(totals.runMicros(), totals.copiesAndWaitsMicros() + totals.graphExecutionMicros());
        assertEquals(java.util.Set.of("CPUExecutionProvider"), totals.nodesByProvider().keySet());
        assertFalse(totals.mixedPlacement());
        String described = totals.describe();
        assertTrue(described.contains("all nodes on CPUExecutionProvider"), described);
        assertTrue(described.contains("graph execution incl. launches") && described.contains("copies and waits"),
                described);
    }

    @Test
    void reportsNodesThatRanOnTwoProvidersAsMixed(@TempDir Path dir) throws IOException {
        // Node events as ONNX Runtime writes them when it places some nodes of a CUDA session on the CPU.
        Path trace = dir.resolve("mixed.json");
        Files.writeString(trace, """
                [
                 {"cat":"Session","name":"model_run","dur":1000,"args":{}},
                 {"cat":"Session","name":"SequentialExecutor::Execute","dur":700,"args":{}},
                 {"cat":"Node","name":"matmul_kernel_time","dur":300,"args":{"op_name":"MatMul","provider":"CUDAExecutionProvider"}},
                 {"cat":"Node","name":"cast_kernel_time","dur":200,"args":{"op_name":"Cast","provider":"CPUExecutionProvider"}},
                 {"cat":"Node","name":"Memcpy_kernel_time","dur":100,"args":{"op_name":"MemcpyToHost","provider":"CUDAExecutionProvider"}}
                ]
                """);

        OrtProfileSummary.Totals totals = OrtProfileSummary.summarize(trace);

        assertTrue(totals.mixedPlacement());
        assertEquals(Map.of("CUDAExecutionProvider", 2L, "CPUExecutionProvider", 1L), totals.nodesByProvider());
        assertEquals(400, totals.copiesAndWaitsMicros(), "300 outside Execute + 100 of Memcpy nodes");
        assertEquals(600, totals.graphExecutionMicros());
        assertTrue(totals.describe().contains("MIXED placement"), totals.describe());
    }
}
