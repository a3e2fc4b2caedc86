package dev.mergeline.devstack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The lifecycle {@link KafkaBroker} and {@link S3MockServer} share: a child JVM whose files live in a
 * state directory ({@code <stem>.log}, {@code <stem>.pid}), started and awaited, stopped with SIGTERM
 * (SIGKILL after a timeout) or killed, stopped by a shutdown hook at normal JVM exit unless detached.
 * A subclass says how to launch its process and when it is ready.
 */
abstract class ChildServer implements AutoCloseable {
    /** How long a shutdown hook waits after SIGTERM before SIGKILL. */
    private static final Duration HOOK_STOP_TIMEOUT = Duration.ofSeconds(10);

    private final Path stateDir;
    private final String stem;
    private final Duration stopTimeout;
    private Thread shutdownHook;

    /**
     * @param stateDir absolute state directory
     * @param stem base name of the log and pid files ({@code kafka}, {@code s3mock})
     * @param stopTimeout how long {@link #stop()} waits after SIGTERM before SIGKILL
     */
    ChildServer(Path stateDir, String stem, Duration stopTimeout) {
        this.stateDir = stateDir;
        this.stem = stem;
        this.stopTimeout = stopTimeout;
    }

    /** What error messages call this server, e.g. "Kafka broker on 127.0.0.1:9092". */
    abstract String description();

    /** Checks that the ports this server listens on are free. */
    abstract void requirePortsFree();

    /** Prepares the state directory and starts the server's process (not yet ready). */
    abstract Process startProcess(long deadline) throws IOException;

    /** Returns once the started server answers; throws (see {@link #checkAlive}) when it dies or the deadline passes. */
    abstract void awaitReady(Process process, long deadline);

    public Path stateDir() {
        return stateDir;
    }

    /** The child's stdout and stderr: {@code stateDir/<stem>.log}. */
    public Path logFile() {
        return stateDir.resolve(stem + ".log");
    }

    /** The server's process, if it is running. */
    public Optional<ProcessHandle> process() {
        return ChildProcess.readPid(pidFile());
    }

    public boolean isRunning() {
        return process().isPresent();
    }

    /** Graceful stop: SIGTERM, SIGKILL after the stop timeout. No-op if not running; the state is kept. */
    public synchronized void stop() {
        process().ifPresent(p -> ChildProcess.terminate(p, stopTimeout));
        cleanUp();
    }

    /** SIGKILL, as a crash would. */
    public synchronized void kill() {
        process().ifPresent(ChildProcess::kill);
        cleanUp();
    }

    @Override
    public void close() {
        stop();
    }

    /**
     * Lets the server outlive this JVM: removes the shutdown hook that would stop it at exit (for
     * launchers that start the stack and return). Stop it later through the subclass's {@code attach}.
     */
    synchronized void removeShutdownHook() {
        ChildProcess.removeShutdownHook(shutdownHook);
        shutdownHook = null;
    }

    /** Starts the server and waits until it is ready; a failed start leaves no process behind. */
    final synchronized void launch(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        process().ifPresent(running -> {
            throw new IllegalStateException(description() + " already running from " + stateDir + " (pid "
                    + running.pid() + ")");
        });
        requirePortsFree();
        Process process = null;
        try {
            process = startProcess(deadline);
            ChildProcess.writePid(pidFile(), process.pid());
            ProcessHandle handle = process.toHandle();
            shutdownHook = ChildProcess.shutdownHook(stem + "-stop-" + handle.pid(),
                    () -> ChildProcess.terminate(handle, HOOK_STOP_TIMEOUT));
            awaitReady(process, deadline);
        } catch (IOException e) {
            abandon(process);
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            abandon(process);
            throw e;
        }
    }

    /** Throws when the process died or the deadline passed, quoting the log. */
    final void checkAlive(Process process, long deadline, String lastError) {
        if (!process.isAlive()) {
            throw new IllegalStateException(ChildProcess.failure(description(), logFile(),
                    "exited with status " + process.exitValue()));
        }
        if (System.nanoTime() - deadline > 0) {
            throw new IllegalStateException(ChildProcess.failure(description(), logFile(),
                    "not ready in time (" + lastError + ")"));
        }
    }

    /** {@code java}, the JVM flags from {@code property}, else {@code env}, else {@code defaults}, headless. */
    static List<String> javaCommand(String property, String env, String defaults) {
        List<String> command = new ArrayList<>();
        command.add(ChildProcess.javaExecutable());
        String opts = System.getProperty(property, System.getenv().getOrDefault(env, defaults));
        for (String opt : opts.trim().split("\\s+")) {
            if (!opt.isEmpty()) {
                command.add(opt);
            }
        }
        command.add("-Djava.awt.headless=true");
        return command;
    }

    private Path pidFile() {
        return stateDir.resolve(stem + ".pid");
    }

    /** After a failed launch: kills the process this launch started (only that one). */
    private void abandon(Process process) {
        if (process != null) {
            ChildProcess.kill(process.toHandle());
            cleanUp();
        }
    }

    private void cleanUp() {
        try {
            Files.deleteIfExists(pidFile());
        } catch (IOException ignored) {
            // stale pid files are ignored by readPid once the process is gone
        }
        removeShutdownHook();
    }
}
