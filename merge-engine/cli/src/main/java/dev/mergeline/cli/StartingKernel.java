package dev.mergeline.cli;

import dev.mergeline.core.merge.LowRankBlock;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * A kernel that starts on a thread of its own (ONNX Runtime's start-up and the kernel's start-up
 * probe) while the CLI validates the inputs, and is waited for on first use. A failure to start is
 * thrown, unwrapped, by that first use; {@link #close} waits for the start and closes what started.
 */
final class StartingKernel implements MergeKernel {

    private final CompletableFuture<MergeKernel> started;

    private StartingKernel(CompletableFuture<MergeKernel> started) {
        this.started = started;
    }

    /** Starts {@code factory} on a new daemon thread. */
    static StartingKernel start(Supplier<MergeKernel> factory) {
        CompletableFuture<MergeKernel> started = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                started.complete(factory.get());
            } catch (RuntimeException | Error e) {
                started.completeExceptionally(e);
            }
        }, "mergeline-kernel-start");
        t.setDaemon(true);
        t.start();
        return new StartingKernel(started);
    }

    /** The started kernel, waiting for it. */
    MergeKernel kernel() {
        try {
            return started.join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    @Override
    public String executionProvider() {
        return kernel().executionProvider();
    }

    @Override
    public void lowRank(LowRankBlock block) {
        kernel().lowRank(block);
    }

    @Override
    public void convert(ByteBuffer in, DType from, ByteBuffer out, DType to, int elements) {
        kernel().convert(in, from, out, to, elements);
    }

    @Override
    public void close() {
        MergeKernel kernel;
        try {
            kernel = started.join();
        } catch (CompletionException e) {
            return; // nothing started
        }
        kernel.close();
    }
}
