package dev.mergeline.core.merge;

import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.CheckpointWriter;
import dev.mergeline.safetensors.TensorSink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Executes a {@link MergePlan} tensor by tensor: each input tensor is read once, cut into blocks by
 * a {@link BlockPlan}, merged block by block, and written once.
 *
 * <p>Two stages run concurrently, connected by a bounded queue, in plan order:
 * <ol>
 *   <li><b>read</b> ({@link ReadStage}, thread {@code mergeline-read}): positional reads of the
 *       next blocks into a small pool of reused direct buffers, at most a few blocks ahead of the
 *       compute stage; copied tensors too, so that every input byte is read once. A file already
 *       in the page cache is read from it, any other with {@code O_DIRECT} where allowed.
 *   <li><b>compute</b> (the calling thread, the only one that touches the {@link CheckpointWriter}):
 *       runs each tensor's {@link TensorComputations computation} on each block, from the input
 *       buffer straight into the writer's staging buffer ({@link TensorSink#reserve}; into a pooled
 *       output buffer that is then written when the block does not fit there); blocks of a copied
 *       tensor are written as read. The writer's own two threads hash and write the staged bytes.
 * </ol>
 * Memory is therefore bounded by {@value #BUFFERS} input and {@value #BUFFERS} output buffers of
 * one block each, the writer's staging buffers and the kernel's own scratch for one block, whatever
 * the model's size. Blocks are cut exactly as a single-threaded loop would cut them and each is
 * computed by the same kernel call, so pipelining does not change a byte of the output. (Every
 * output element depends only on its own row and column, so the block size does not either:
 * {@code MergeExecutorTest} checks this for the reference kernel.)
 *
 * <p>A failure in either stage stops the other; {@link #execute} returns only once the read thread
 * has ended.
 */
public final class MergeExecutor {
    /**
     * Default bytes of fp32 work per row block. Each block costs a kernel call, a hand-over between
     * the stages and the check of {@link TensorProbe#ROWS_PER_BLOCK} rows; larger blocks spill the
     * kernel's intermediates (several fp32 copies of a block) out of the CPU caches. On two cores
     * 4–8 MiB measured best of 0.5–32 MiB (2 MiB: 17 % more wall time, 32 MiB: 55 % more; docs/performance.md).
     * A GPU kernel may want larger blocks ({@code MergeOptions.blockBytes}).
     */
    public static final long DEFAULT_BLOCK_BYTES = 8L << 20;

    /** Buffers per pool: one being filled, one queued, one being consumed. */
    static final int BUFFERS = 3;
    /** Read-ahead blocks queued for the compute stage. */
    private static final int READ_AHEAD = 4;

    private final MergeKernel kernel;
    private final BlockPlan blockPlan;
    private final MergeVerification verification;
    private final ReadStage.Reads reads;

    /** An executor whose verification uses a fixed seed (tests, tools). */
    public MergeExecutor(MergeKernel kernel, long blockBytes) {
        this(kernel, blockBytes, new MergeVerification("mergeline"));
    }

    /**
     * @param blockBytes fp32 bytes of work per block (see {@link BlockPlan})
     * @param verification receives the check of every merged block (see {@link TensorProbe}); a
     *     block that fails it ends the merge with {@link VerificationFailedException}
     */
    public MergeExecutor(MergeKernel kernel, long blockBytes, MergeVerification verification) {
        this(kernel, blockBytes, verification, ReadStage.Reads.CACHED_ELSE_DIRECT);
    }

    /** @param reads how base weights are read ({@link ReadStage}) */
    MergeExecutor(MergeKernel kernel, long blockBytes, MergeVerification verification, ReadStage.Reads reads) {
        this.verification = Objects.requireNonNull(verification, "verification");
        this.blockPlan = new BlockPlan(blockBytes);
        this.kernel = Objects.requireNonNull(kernel, "kernel");
        this.reads = Objects.requireNonNull(reads, "reads");
    }

    /** Writes every planned tensor, in plan order, into {@code writer}; the caller commits. */
    public void execute(MergePlan plan, TensorStore store, CheckpointWriter writer) throws IOException, RejectedException {
        execute(plan, store, writer, ProgressListener.NONE);
    }

    /** A planned tensor, its input and its blocks. */
    record Step(PlannedTensor tensor, TensorStore.Located source, BlockPlan.Cut cut) {}

    /**
     * Writes every planned tensor, in plan order, into {@code writer}, telling {@code progress} about
     * each block and tensor written and, at the end, how the stages spent their time; the caller commits.
     */
    public void execute(MergePlan plan, TensorStore store, CheckpointWriter writer, ProgressListener progress)
            throws IOException, RejectedException {
        OutputProgress written = OutputProgress.of(plan, progress);
        List<Step> steps = new ArrayList<>();
        List<BlockPlan.Cut> cuts = new ArrayList<>();
        for (PlannedTensor t : plan.tensors()) {
            TensorStore.Located source = store.locate(t.op().source());
            Step step = new Step(t, source, blockPlan.cut(t, source.info()));
            steps.add(step);
            cuts.add(step.cut());
        }
        BufferPool inputs = new BufferPool(BUFFERS, poolBytes(blockPlan.poolBytes(cuts, true)));
        BufferPool outputs = new BufferPool(BUFFERS, poolBytes(blockPlan.poolBytes(cuts, false)));
        BlockingQueue<ReadStage.Input> readQueue = new ArrayBlockingQueue<>(READ_AHEAD);
        Pipeline pipeline = new Pipeline();
        Pipeline.Stage reading = pipeline.stage("read");
        Pipeline.Stage computing = pipeline.stage("compute");
        ReadStage read = new ReadStage(steps, inputs, readQueue, reads);
        try {
            pipeline.start("mergeline-read", () -> read.run(reading));
            try {
                computing.begin();
                compute(steps, new TensorComputations(kernel, store, verification), outputs, readQueue, writer,
                        written, computing);
                computing.end();
            } catch (Pipeline.Aborted e) {
                // the read stage failed; reported below
            } catch (IOException | RejectedException | RuntimeException | Error e) {
                pipeline.fail(e);
                pipeline.close();
                throw e;
            } catch (InterruptedException e) {
                pipeline.fail(e);
                pipeline.close();
                Thread.currentThread().interrupt();
                throw new IOException("merge interrupted", e);
            }
            pipeline.join();
            rethrow(pipeline.failure());
            progress.stages(pipeline.times());
        } finally {
            pipeline.close();
            read.close();
            ReadStage.drain(readQueue);
            inputs.close();
            outputs.close();
        }
    }

    private static int poolBytes(long bytes) {
        return (int) Math.min(Integer.MAX_VALUE, bytes);
    }

    // ---- compute stage ------------------------------------------------------------------------

    private static void compute(List<Step> steps, TensorComputations computations, BufferPool outputs,
            BlockingQueue<ReadStage.Input> readQueue, CheckpointWriter writer, OutputProgress written, Pipeline.Stage p)
            throws IOException, RejectedException, InterruptedException {
        for (Step s : steps) {
            TensorSink sink = writer.next(s.tensor().name());
            if (s.cut().kind() == BlockPlan.Kind.COPY) {
                for (int i = 0; i < s.cut().blocks().size(); i++) {
                    BufferPool.Lease in = p.take(readQueue).lease();
                    try {
                        int n = in.view().remaining();
                        sink.write(in.view().duplicate());
                        written.bytes(n);
                    } finally {
                        in.release();
                    }
                }
            } else {
                TensorComputations.TensorComputation computation = computations.forTensor(s);
                for (BlockPlan.Block block : s.cut().blocks()) {
                    mergeBlock(block, computation, outputs, p.take(readQueue), sink, p);
                    written.bytes(block.outBytes());
                }
                computation.finish();
            }
            sink.close();
            written.tensor();
        }
    }

    /**
     * Computes one block into the sink's staging buffer, or, where it does not fit there, into a
     * pooled output buffer that is then written; the input buffer always goes back to its pool.
     */
    private static void mergeBlock(BlockPlan.Block block, TensorComputations.TensorComputation computation,
            BufferPool outputs, ReadStage.Input in, TensorSink sink, Pipeline.Stage p)
            throws IOException, InterruptedException {
        try {
            ByteBuffer room = sink.reserve(Math.toIntExact(block.outBytes()));
            if (room != null) {
                computation.block(block, in.lease().view(), room);
                return;
            }
            BufferPool.Lease out = outputs.acquire(block.outBytes(), p);
            try {
                computation.block(block, in.lease().view(), out.view());
                sink.write(out.view().duplicate());
            } finally {
                out.release();
            }
        } finally {
            in.lease().release();
        }
    }

    private static void rethrow(Throwable failure) throws IOException {
        if (failure == null) {
            return;
        }
        if (failure instanceof IOException e) {
            throw e;
        }
        if (failure instanceof RuntimeException e) {
            throw e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        throw new IOException("merge stage failed: " + failure, failure);
    }
}
