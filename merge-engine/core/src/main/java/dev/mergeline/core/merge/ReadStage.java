package dev.mergeline.core.merge;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.BlockingQueue;

/**
 * The read stage of {@link MergeExecutor} (thread {@code mergeline-read}): reads every block of
 * every step, in order, with positional reads into buffers of the input pool, and queues them for
 * the compute stage. Each input byte is read once, copied tensors included (their blocks pass
 * through the compute stage to the writer unchanged). No mapping outlives its block, so resident
 * memory does not grow with the model.
 */
final class ReadStage {
    /** A block's input bytes, in a lease of the input pool. */
    record Input(BlockPlan.Block block, BufferPool.Lease lease) {}

    private final List<MergeExecutor.Step> steps;
    private final BufferPool inputs;
    private final BlockingQueue<Input> queue;

    ReadStage(List<MergeExecutor.Step> steps, BufferPool inputs, BlockingQueue<Input> queue) {
        this.steps = steps;
        this.inputs = inputs;
        this.queue = queue;
    }

    void run(Pipeline.Stage p) throws IOException, InterruptedException {
        p.begin();
        for (MergeExecutor.Step s : steps) {
            for (BlockPlan.Block b : s.cut().blocks()) {
                BufferPool.Lease lease = read(s.source(), b, p);
                try {
                    p.put(queue, new Input(b, lease));
                } catch (RuntimeException | InterruptedException e) {
                    lease.release();
                    throw e;
                }
            }
        }
        p.end();
    }

    private BufferPool.Lease read(TensorStore.Located source, BlockPlan.Block b, Pipeline.Stage p)
            throws IOException, InterruptedException {
        if (b.inBytes() > inputs.bufferBytes()) {
            // A block larger than the pool's buffers (a DoRA block holding a whole tensor) is read
            // through a mapping, unmapped as soon as it has been merged: no direct memory for it, and
            // at most one such mapping at a time.
            return inputs.oneOff(() -> source.file().slice(source.info(), b.inOffset(), Math.toIntExact(b.inBytes())), p);
        }
        BufferPool.Lease lease = inputs.acquire(b.inBytes(), p);
        try {
            readFully(source, b.inOffset(), lease.view().duplicate());
            return lease;
        } catch (IOException | RuntimeException e) {
            lease.release();
            throw e;
        }
    }

    /** Fills {@code dst} from the tensor's bytes starting at {@code offsetInTensor} (positional reads). */
    static void readFully(TensorStore.Located src, long offsetInTensor, ByteBuffer dst) throws IOException {
        long position = src.position() + offsetInTensor;
        while (dst.hasRemaining()) {
            int n = src.file().channel().read(dst, position);
            if (n < 0) {
                throw new IOException("tensor '" + src.info().name() + "' in " + src.file().path()
                        + " ends early (file truncated while merging?)");
            }
            position += n;
        }
    }

    /** Hands back every lease still queued (after a failure). */
    static void drain(BlockingQueue<Input> queue) {
        for (Input in; (in = queue.poll()) != null; ) {
            in.lease().release();
        }
    }
}
