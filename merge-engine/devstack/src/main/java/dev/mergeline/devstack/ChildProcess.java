package dev.mergeline.devstack;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Plumbing shared by {@link KafkaBroker} and {@link S3MockServer}: launching a child JVM with its
 * output appended to a log file, a pid file (so another JVM or class loader can find and signal the
 * process), SIGTERM-then-SIGKILL, free ports and log tails for error messages.
 */
final class ChildProcess {

    /** Lines of the log quoted in a start-up failure. */
    static final int TAIL_LINES = 40;

    private ChildProcess() {
    }

    /** The {@code java} launcher of the running JVM. */
    static String javaExecutable() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Starts {@code command} in {@code workDir}, stdout and stderr appended to {@code log}, stdin empty. */
    static Process launch(List<String> command, Path workDir, Path log, Map<String, String> env) throws IOException {
        Files.createDirectories(log.getParent());
        Files.writeString(log, "---- " + Instant.now() + " " + String.join(" ", abbreviate(command)) + "\n",
                StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
        pb.environment().putAll(env);
        return pb.start();
    }

    private static java.io.File nullDevice() {
        return new java.io.File(System.getProperty("os.name", "").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    /** The command with a long {@code -cp} value shortened, for the log header. */
    private static List<String> abbreviate(List<String> command) {
        List<String> out = new ArrayList<>(command.size());
        for (String arg : command) {
            out.add(arg.length() > 300 ? arg.substring(0, 120) + "…(" + arg.length() + " chars)" : arg);
        }
        return out;
    }

    static void writePid(Path pidFile, long pid) {
        try {
            Path tmp = pidFile.resolveSibling(pidFile.getFileName() + ".tmp");
            Files.writeString(tmp, Long.toString(pid) + "\n", StandardCharsets.US_ASCII);
            Files.move(tmp, pidFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The live process named by {@code pidFile}, if any. */
    static Optional<ProcessHandle> readPid(Path pidFile) {
        try {
            if (!Files.isRegularFile(pidFile)) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile, StandardCharsets.US_ASCII).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** SIGTERM, then SIGKILL once {@code grace} has passed; returns when the process is gone. */
    static void terminate(ProcessHandle process, Duration grace) {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        if (!awaitExit(process, grace)) {
            kill(process);
        }
    }

    /** SIGKILL; returns when the process is gone (at most a few seconds). */
    static void kill(ProcessHandle process) {
        if (!process.isAlive()) {
            return;
        }
        process.destroyForcibly();
        awaitExit(process, Duration.ofSeconds(10));
    }

    static boolean awaitExit(ProcessHandle process, Duration timeout) {
        try {
            process.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            return !process.isAlive();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    /** A TCP port on 127.0.0.1 that was free a moment ago. */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port", e);
        }
    }

    /** Whether something accepts TCP connections on 127.0.0.1:{@code port}. */
    static boolean listening(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The last {@code lines} lines of {@code log} (reads at most the last 64 KiB). */
    static String tail(Path log, int lines) {
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
            long length = file.length();
            long start = Math.max(0, length - 64 * 1024);
            byte[] bytes = new byte[(int) (length - start)];
            file.seek(start);
            file.readFully(bytes);
            String[] all = new String(bytes, StandardCharsets.UTF_8).split("\n");
            int from = Math.max(0, all.length - lines);
            return String.join("\n", java.util.Arrays.asList(all).subList(from, all.length));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /**
     * A start-up failure message: what failed, why, the log's error lines ({@code ERROR},
     * {@code Caused by:}) and its last {@link #TAIL_LINES} lines.
     */
    static String failure(String what, Path log, String why) {
        String recent = tail(log, 2000);
        List<String> errors = recent.lines()
                .filter(l -> l.contains(" ERROR ") || l.startsWith("Caused by:") || l.startsWith("ERROR"))
                .collect(java.util.stream.Collectors.toList());
        StringBuilder message = new StringBuilder(what).append(": ").append(why);
        if (!errors.isEmpty()) {
            message.append("; errors in ").append(log).append(":\n")
                    .append(String.join("\n", errors.subList(Math.max(0, errors.size() - 10), errors.size())));
        }
        message.append("\n; last lines of ").append(log).append(":\n").append(tail(log, TAIL_LINES));
        return message.toString();
    }

    /** Fails fast when a fixed port is taken (the child would die on bind, less legibly). */
    static void requireFree(int port, String what) {
        if (listening(port)) {
            throw new IllegalStateException(what + ": port 127.0.0.1:" + port + " is already in use");
        }
    }

    /** Registers a JVM shutdown hook that stops {@code stopper}; returns it for removal. */
    static Thread shutdownHook(String name, Runnable stopper) {
        Thread hook = new Thread(stopper, name);
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }

    static void removeShutdownHook(Thread hook) {
        if (hook == null) {
            return;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is already exiting: the hook runs (or ran) anyway
        }
    }

    /** Deletes a directory tree, best effort (used by the test resources for their temp state). */
    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
