package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scratch clean-up at start with real processes: a worker killed with SIGKILL leaves its directory
 * behind, the next start removes it; a live worker's directory, and everything not named as the
 * worker names its entries, stays.
 */
class ScratchSpaceTest {
    @TempDir
    Path root;
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void killHolders() throws InterruptedException {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void startRemovesLeftoversOfKilledWorkersOnlyAndKeepsLiveAndForeignEntries() throws Exception {
        Process killed = holder();
        Path killedDir = claimedDir(killed);
        Process live = holder();
        Path liveDir = claimedDir(live);
        List<Path> foreign = List.of(
                Files.writeString(root.resolve("notes.txt"), "not the worker's"),
                Files.createDirectories(root.resolve("worker-abc")),
                Files.createDirectories(root.resolve(ScratchSpaceHolder.JOB_ID)),
                Files.writeString(root.resolve("worker-0123456789abcdef.txt"), "x"),
                Files.createDirectories(root.resolve("worker-0123456789ABCDEF")),
                Files.createDirectories(root.resolve("other").resolve("worker-0123456789abcdef")));
        killed.destroyForcibly(); // SIGKILL: no shutdown hook, the lock goes with the process
        assertTrue(killed.waitFor(30, TimeUnit.SECONDS));
        assertTrue(Files.isDirectory(killedDir));

        Path ownDir;
        Path ownLock;
        try (ScratchSpace scratch = ScratchSpace.open(root)) {
            assertEquals(List.of(new ScratchSpace.Removed(killedDir, 1, ScratchSpaceHolder.FILE_BYTES)),
                    scratch.removed());
            assertFalse(Files.exists(killedDir));
            assertFalse(Files.exists(lockOf(killedDir)));
            assertTrue(Files.isRegularFile(liveDir.resolve("job-" + ScratchSpaceHolder.JOB_ID)
                    .resolve("model.safetensors")), "a live worker's files stay");
            assertTrue(Files.exists(lockOf(liveDir)));
            foreign.forEach(p -> assertTrue(Files.exists(p), p + " is not the worker's"));

            ownDir = scratch.dir();
            ownLock = lockOf(ownDir);
            assertEquals(root, ownDir.getParent());
            assertTrue(ScratchSpace.ENTRY.matcher(ownDir.getFileName().toString()).matches(), ownDir.toString());
            assertTrue(Files.isDirectory(ownDir) && Files.exists(ownLock));
            assertEquals(ownDir.resolve("job-" + ScratchSpaceHolder.JOB_ID), scratch.jobDir(ScratchSpaceHolder.JOB_ID));

            // A second worker in the same scratch root leaves this one alone.
            try (ScratchSpace second = ScratchSpace.open(root)) {
                assertEquals(List.of(), second.removed());
                assertTrue(Files.isDirectory(ownDir));
            }
        }
        assertFalse(Files.exists(ownDir), "a worker removes its directory at exit");
        assertFalse(Files.exists(ownLock));
        assertTrue(Files.isDirectory(liveDir));
    }

    private static Path lockOf(Path dir) {
        return dir.resolveSibling(dir.getFileName() + ".lock");
    }

    private Process holder() throws IOException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                ScratchSpaceHolder.class.getName(), root.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        processes.add(p);
        return p;
    }

    /** The directory the holder printed once it had claimed it. */
    private static Path claimedDir(Process p) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertTrue(line != null, "the holder exited before claiming a directory");
        return Path.of(line);
    }
}
