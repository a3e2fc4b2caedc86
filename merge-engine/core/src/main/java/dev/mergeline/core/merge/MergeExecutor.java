package dev.mergeline.core.merge;

import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.ModuleKind;
import dev.mergeline.core.plan.ParamSlice;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.core.plan.TensorOp;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.CheckpointWriter;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorSink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Executes a {@link MergePlan} tensor by tensor: each input tensor is read once, merged in row
 * blocks into reused output buffers, and written once; untouched tensors are copied with
 * {@link TensorSink#copyFrom} ({@code FileChannel.transferTo}, never through the heap).
 *
 * <p>Three stages run concurrently, connected by bounded queues, in plan order:
 * <ol>
 *   <li><b>read</b> (thread {@code mergeline-read}): reads the next blocks of base weights with
 *       positional reads into a small pool of reused direct buffers, at most a few blocks ahead of
 *       the compute stage; for a tensor that will be copied it pulls the bytes into the page cache
 *       unless they are there already, so the copy does not wait for the disk. No mapping outlives
 *       its block, so resident memory does not grow with the model.
 *   <li><b>compute</b> (the calling thread): loads the LoRA factors of each tensor and runs the
 *       {@link MergeKernel} on each block, from an input buffer into an output buffer of a second
 *       pool.
 *   <li><b>write</b> (thread {@code mergeline-write}): the only thread that touches the
 *       {@link CheckpointWriter}: opens each tensor's sink, writes the blocks (the writer hashes
 *       them for the manifest as they pass, so SHA-256 runs here, beside the compute stage),
 *       copies untouched tensors, and hands the buffers back.
 * </ol>
 * Memory is therefore bounded by {@value #BUFFERS} input and {@value #BUFFERS} output buffers of
 * one block each, plus the kernel's own scratch for one block, whatever the model's size. Blocks
 * are cut exactly as a single-threaded loop would cut them and each is computed by the same
 * kernel call, so pipelining does not change a byte of the output. (Every output element depends
 * only on its own row and column, so the block size does not either: {@code MergeExecutorTest}
 * checks this for the reference kernel, and the benchmark's 2 GiB merge through ONNX Runtime gave
 * the same SHA-256 with 2, 16 and 64 MiB blocks.)
 *
 * <p>A failure in any stage stops the others; {@link #execute} returns only once every helper
 * thread has ended, so nothing touches the writer afterwards.
 */
public final class MergeExecutor {
    /**
     * Default bytes of fp32 work per row block; {@code -Dmergeline.blockBytes=N} overrides it (the
     * CLI passes JVM options through {@code MERGELINE_JAVA_OPTS}). Small blocks keep the kernel's
     * intermediates (several fp32 copies of a block) and the buffers in the CPU caches and its
     * scratch memory small; on two cores 2 MiB measured best of 1–64 MiB, and 64 MiB cost twice the
     * CPU time (docs/performance.md). A GPU kernel may want larger blocks.
     */
    public static final long DEFAULT_BLOCK_BYTES = Long.getLong("mergeline.blockBytes", 2L << 20);

    /** Buffers per pool: one being filled, one queued, one being consumed. */
    static final int BUFFERS = 3;
    /** Read-ahead items queued for the compute stage (blocks and copy markers). */
    private static final int READ_AHEAD = 4;
    /** Write tasks queued for the write stage; blocks among them are bounded by the output pool. */
    private static final int WRITE_BEHIND = 16;
    /** Bytes per read when the read stage pulls a tensor to be copied into the page cache. */
    private static final int PREFETCH_CHUNK = 1 << 20;

    /**
     * With {@code -Dmergeline.profile=true}, one line per merge on stderr: busy and waiting time of
     * each stage (see docs/performance.md).
     */
    static final boolean PROFILE = Boolean.getBoolean("mergeline.profile");

    private final MergeKernel kernel;
    private final long blockBytes;
    private final Fp32Loader loader;
    private final MergeVerification verification;

    /** An executor whose verification uses a fixed seed (tests, tools). */
    public MergeExecutor(MergeKernel kernel, long blockBytes) {
        this(kernel, blockBytes, new MergeVerification("mergeline"));
    }

    /**
     * @param verification receives the check of every merged block (see {@link TensorProbe}); a
     *     block that fails it ends the merge with {@link VerificationFailedException}
     */
    public MergeExecutor(MergeKernel kernel, long blockBytes, MergeVerification verification) {
        this.verification = java.util.Objects.requireNonNull(verification, "verification");
        if (blockBytes < 1) {
            throw new IllegalArgumentException("blockBytes must be >= 1, got " + blockBytes);
        }
        this.kernel = kernel;
        this.blockBytes = blockBytes;
        this.loader = new Fp32Loader(kernel);
    }

    /** Writes every planned tensor, in plan order, into {@code writer}; the caller commits. */
    public void execute(MergePlan plan, TensorStore store, CheckpointWriter writer) throws IOException, RejectedException {
        execute(plan, store, writer, ProgressListener.NONE);
    }

    /**
     * Writes every planned tensor, in plan order, into {@code writer}, telling {@code progress} about
     * each block and tensor written; the caller commits.
     */
    public void execute(MergePlan plan, TensorStore store, CheckpointWriter writer, ProgressListener progress)
            throws IOException, RejectedException {
        WriteProgress written = WriteProgress.of(plan, progress);
        List<Step> steps = new ArrayList<>();
        for (PlannedTensor t : plan.tensors()) {
            steps.add(step(store, t));
        }
        long inBytes = 0;
        long outBytes = 0;
        for (Step s : steps) {
            for (Block b : s.blocks()) {
                if (b.work() <= blockBytes) {
                    inBytes = Math.max(inBytes, b.inBytes());
                    outBytes = Math.max(outBytes, b.outBytes());
                }
            }
        }
        BufferPool inputs = new BufferPool(BUFFERS, (int) Math.min(Integer.MAX_VALUE, inBytes));
        BufferPool outputs = new BufferPool(BUFFERS, (int) Math.min(Integer.MAX_VALUE, outBytes));
        BlockingQueue<Input> readQueue = new ArrayBlockingQueue<>(READ_AHEAD);
        BlockingQueue<Task> writeQueue = new ArrayBlockingQueue<>(WRITE_BEHIND);
        Pipeline pipeline = new Pipeline();
        Pipeline.Stage reading = pipeline.stage("read");
        Pipeline.Stage computing = pipeline.stage("compute");
        Pipeline.Stage writing = pipeline.stage("write");
        try {
            pipeline.start("mergeline-read", () -> read(steps, inputs, readQueue, reading));
            pipeline.start("mergeline-write", () -> write(writer, writeQueue, outputs, writing, written));
            try {
                computing.begin();
                compute(steps, store, inputs, outputs, readQueue, writeQueue, computing);
                computing.put(writeQueue, Task.END);
                computing.end();
            } catch (Pipeline.Aborted e) {
                // a helper failed; reported below
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
            if (PROFILE) {
                System.err.println("mergeline: stages: " + pipeline.report());
            }
        } finally {
            pipeline.close();
            drain(readQueue, inputs);
            inputs.close();
            outputs.close();
        }
    }

    // ---- plan → steps and blocks -------------------------------------------------------------

    private enum Kind { COPY, CONVERT, LOW_RANK, ADD_BIAS, REPLACE_ROWS, FP8_DEQUANTIZE, FP8_SCALES }

    /** Scale grids of re-quantized FP8 weights, by weight, from the weight's step to its scale's. */
    private final java.util.Map<String, float[]> fp8Scales = new java.util.HashMap<>();

    /**
     * One kernel call: {@code count} rows (LOW_RANK, REPLACE_ROWS, starting at row {@code first}) or elements
     * (CONVERT, ADD_BIAS; {@code first} unused), whose {@code inBytes} input bytes start at byte
     * {@code inOffset} of the source tensor; {@code work} is the fp32 size the block budget limits.
     */
    private record Block(int first, int count, long inOffset, long inBytes, long outBytes, long work) {}

    private record Step(PlannedTensor tensor, Kind kind, TensorStore.Located source, List<Block> blocks) {}

    private Step step(TensorStore store, PlannedTensor t) {
        TensorOp op = t.op();
        TensorStore.Located src = store.locate(op.source());
        DType from = src.info().dtype();
        DType to = t.dtype();
        List<Block> blocks = new ArrayList<>();
        if (op instanceof TensorOp.LowRank lowRank && lowRank.parameter() != null) {
            return new Step(t, Kind.LOW_RANK, src, parameterBlocks(lowRank.parameter(), from, to));
        }
        if (op instanceof TensorOp.Fp8Block fp8) {
            int rows = t.shape().get(0).intValue();
            int cols = t.shape().get(1).intValue();
            // whole block rows, so that each block's amax is taken within one kernel call
            int rowsPerBlock = Math.min(rows, Math.max(1, rowsPerBlock(rows, cols) / fp8.blockRows()) * fp8.blockRows());
            return new Step(t, op.unwrapped() instanceof TensorOp.LowRank ? Kind.LOW_RANK : Kind.FP8_DEQUANTIZE, src,
                    rowBlocks(rows, cols, rowsPerBlock, from, to));
        }
        if (op instanceof TensorOp.Fp8Scales) {
            long n = src.info().elementCount();
            return new Step(t, Kind.FP8_SCALES, src, List.of(new Block(0, Math.toIntExact(n), 0,
                    src.info().byteLength(), n * 4, n * 4)));
        }
        if (op instanceof TensorOp.LowRank lowRank) {
            int rows = t.shape().get(0).intValue();
            int cols = t.shape().get(1).intValue();
            boolean perColumn = lowRank.kind() != ModuleKind.LINEAR;
            // DoRA normalises per column for Conv1D/Embedding weights: the block must hold all rows.
            int rowsPerBlock = lowRank.magnitude() != null && perColumn ? rows : rowsPerBlock(rows, cols);
            return new Step(t, Kind.LOW_RANK, src, rowBlocks(rows, cols, rowsPerBlock, from, to));
        }
        if (op instanceof TensorOp.ReplaceRows) {
            int rows = t.shape().get(0).intValue();
            int cols = t.shape().get(1).intValue();
            return new Step(t, Kind.REPLACE_ROWS, src, rowBlocks(rows, cols, rowsPerBlock(rows, cols), from, to));
        }
        if (op instanceof TensorOp.AddBias) {
            long n = src.info().elementCount();
            blocks.add(new Block(0, Math.toIntExact(n), 0, src.info().byteLength(), n * to.byteSize(), n * 4));
            return new Step(t, Kind.ADD_BIAS, src, blocks);
        }
        if (from == to) {
            return new Step(t, Kind.COPY, src, List.of());
        }
        long elements = src.info().elementCount();
        int perBlock = (int) Math.max(1, Math.min(elements, blockBytes / 4));
        for (long first = 0; first < elements; first += perBlock) {
            int n = (int) Math.min(perBlock, elements - first);
            blocks.add(new Block(0, n, first * from.byteSize(), (long) n * from.byteSize(), (long) n * to.byteSize(), n * 4L));
        }
        return new Step(t, Kind.CONVERT, src, blocks);
    }

    /** Rows of {@code cols} fp32 values that fit the block budget (at least one). */
    private int rowsPerBlock(int rows, int cols) {
        return (int) Math.max(1, Math.min(rows, blockBytes / Math.max(1, (long) cols * 4)));
    }

    /** A parameter's tensor in row blocks that never span two experts (each expert has its own factors). */
    private List<Block> parameterBlocks(ParamSlice slice, DType from, DType to) {
        int rows = slice.rowsPerExpert();
        int cols = slice.columns();
        List<Block> perExpert = rowBlocks(rows, cols, rowsPerBlock(rows, cols), from, to);
        if (!slice.allExperts()) {
            return perExpert;
        }
        List<Block> blocks = new ArrayList<>();
        long expertBytes = Math.multiplyExact(Math.multiplyExact((long) rows, cols), from.byteSize());
        for (int e = 0; e < slice.experts(); e++) {
            for (Block b : perExpert) {
                blocks.add(new Block(Math.addExact(Math.multiplyExact(e, rows), b.first()), b.count(),
                        Math.addExact(Math.multiplyExact(e, expertBytes), b.inOffset()), b.inBytes(), b.outBytes(),
                        b.work()));
            }
        }
        return blocks;
    }

    /** A [rows, cols] tensor cut into blocks of {@code rowsPerBlock} whole rows. */
    private static List<Block> rowBlocks(int rows, int cols, int rowsPerBlock, DType from, DType to) {
        List<Block> blocks = new ArrayList<>();
        for (int row0 = 0; row0 < rows; row0 += rowsPerBlock) {
            int n = Math.min(rowsPerBlock, rows - row0);
            long elements = Math.multiplyExact((long) n, cols);
            blocks.add(new Block(row0, n, Math.multiplyExact((long) row0 * cols, from.byteSize()),
                    Math.multiplyExact(elements, from.byteSize()), Math.multiplyExact(elements, to.byteSize()),
                    Math.multiplyExact(elements, 4L)));
        }
        return blocks;
    }

    // ---- read stage ---------------------------------------------------------------------------

    /** A block's input bytes (or, for a copied tensor, a marker without a buffer). */
    private record Input(Step step, BufferPool.Lease lease) {}

    private static void read(List<Step> steps, BufferPool inputs, BlockingQueue<Input> queue, Pipeline.Stage p)
            throws IOException, InterruptedException {
        p.begin();
        ByteBuffer scratch = null;
        for (Step s : steps) {
            if (s.kind() == Kind.COPY) {
                if (!resident(s.source())) {
                    scratch = scratch != null ? scratch : ByteBuffer.allocateDirect(PREFETCH_CHUNK);
                    prefetch(s.source(), scratch, p);
                }
                p.put(queue, new Input(s, null));
                continue;
            }
            for (Block b : s.blocks()) {
                BufferPool.Lease lease;
                if (b.inBytes() <= inputs.bufferBytes()) {
                    lease = inputs.acquire(b.inBytes(), p);
                    try {
                        readFully(s.source(), b.inOffset(), lease.view().duplicate());
                    } catch (IOException | RuntimeException e) {
                        inputs.release(lease);
                        throw e;
                    }
                } else {
                    // A block larger than the pool's buffers (a DoRA block holding a whole tensor) is
                    // read through a mapping, unmapped as soon as it has been merged: no direct
                    // memory for it, and at most one such mapping at a time.
                    lease = inputs.oneOff(() -> s.source().file().slice(s.source().info(), b.inOffset(),
                            Math.toIntExact(b.inBytes())), p);
                }
                try {
                    p.put(queue, new Input(s, lease));
                } catch (RuntimeException | InterruptedException e) {
                    inputs.release(lease);
                    throw e;
                }
            }
        }
        p.end();
    }

    /**
     * Whether every page of the tensor is in the page cache ({@code mincore} through
     * {@link MappedByteBuffer#isLoaded}; the probe mapping is never touched and is unmapped at once).
     */
    private static boolean resident(TensorStore.Located src) throws IOException {
        long length = src.info().byteLength();
        for (long done = 0; done < length; ) {
            long n = Math.min(length - done, Integer.MAX_VALUE);
            MappedByteBuffer probe = src.file().channel().map(FileChannel.MapMode.READ_ONLY, src.position() + done, n);
            boolean loaded = probe.isLoaded();
            BufferPool.free(probe);
            if (!loaded) {
                return false;
            }
            done += n;
        }
        return true;
    }

    /**
     * Reads a tensor that the write stage will copy, so that its {@code transferTo} and hashing
     * find the bytes in the page cache instead of waiting for the disk.
     */
    private static void prefetch(TensorStore.Located src, ByteBuffer scratch, Pipeline.Stage p) throws IOException {
        long length = src.info().byteLength();
        for (long done = 0; done < length && !p.aborted(); ) {
            int n = (int) Math.min(scratch.capacity(), length - done);
            scratch.clear().limit(n);
            readFully(src, done, scratch);
            done += n;
        }
    }

    /** Fills {@code dst} from the tensor's bytes starting at {@code offsetInTensor} (positional reads). */
    private static void readFully(TensorStore.Located src, long offsetInTensor, ByteBuffer dst) throws IOException {
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

    // ---- compute stage ------------------------------------------------------------------------

    private void compute(List<Step> steps, TensorStore store, BufferPool inputs, BufferPool outputs,
            BlockingQueue<Input> readQueue, BlockingQueue<Task> writeQueue, Pipeline.Stage p)
            throws IOException, RejectedException, InterruptedException {
        for (Step s : steps) {
            p.put(writeQueue, Task.open(s.tensor().name()));
            switch (s.kind()) {
                case COPY -> {
                    p.take(readQueue);
                    p.put(writeQueue, Task.copy(s.source()));
                }
                case CONVERT -> {
                    DType from = s.source().info().dtype();
                    for (Block b : s.blocks()) {
                        mergeBlock(b, inputs, outputs, readQueue, writeQueue, p,
                                (in, out) -> kernel.convert(in, from, out, s.tensor().dtype(), b.count()));
                    }
                }
                case LOW_RANK -> lowRank(store, s, inputs, outputs, readQueue, writeQueue, p);
                case ADD_BIAS -> addBias(store, s, inputs, outputs, readQueue, writeQueue, p);
                case REPLACE_ROWS -> replaceRows(store, s, inputs, outputs, readQueue, writeQueue, p);
                case FP8_DEQUANTIZE -> {
                    Fp8Weight fp8 = Fp8Weight.open(store, s.tensor(), (TensorOp.Fp8Block) s.tensor().op());
                    for (Block b : s.blocks()) {
                        mergeBlock(b, inputs, outputs, readQueue, writeQueue, p,
                                (in, out) -> fp8.dequantizeInto(in, b.first(), b.count(), out));
                    }
                }
                case FP8_SCALES -> {
                    float[] scales = fp8Scales.remove(((TensorOp.Fp8Scales) s.tensor().op()).weight());
                    mergeBlock(s.blocks().get(0), inputs, outputs, readQueue, writeQueue, p,
                            (in, out) -> out.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(scales));
                }
            }
            p.put(writeQueue, Task.CLOSE);
        }
    }

    private void lowRank(TensorStore store, Step s, BufferPool inputs, BufferPool outputs,
            BlockingQueue<Input> readQueue, BlockingQueue<Task> writeQueue, Pipeline.Stage p)
            throws IOException, RejectedException, InterruptedException {
        PlannedTensor t = s.tensor();
        TensorOp.LowRank op = (TensorOp.LowRank) t.op().unwrapped();
        Fp8Weight fp8 = t.op() instanceof TensorOp.Fp8Block block ? Fp8Weight.open(store, t, block) : null;
        ByteBuffer a = loader.load(store.adapterTensor(op.loraA()));
        ByteBuffer b = loader.load(store.adapterTensor(op.loraB()));
        if (op.parameter() != null) {
            parameterDelta(s, op, a, b, inputs, outputs, readQueue, writeQueue, p);
            return;
        }
        int rows = t.shape().get(0).intValue();
        int cols = t.shape().get(1).intValue();
        int r = op.rank();
        ByteBuffer left;
        ByteBuffer right;
        if (op.kind() == ModuleKind.LINEAR) {
            left = b; // B [out=rows, r]
            right = a; // A [r, in=cols]
        } else {
            left = transpose(a, r, rows); // Aᵀ [rows, r]
            right = transpose(b, cols, r); // Bᵀ [r, cols]
        }
        ByteBuffer magnitude = op.magnitude() == null ? null : loader.load(store.adapterTensor(op.magnitude()));
        if (MergeVerification.allZero(b)) {
            verification.zeroFactor(t.name(), op.loraB());
        }
        // PEFT rounds a plain embedding delta to the weight's dtype before adding it; DoRA adds in fp32.
        LowRankBlock.DeltaRounding rounding = op.kind() == ModuleKind.EMBEDDING && magnitude == null
                ? LowRankBlock.DeltaRounding.DELTA_FIRST : LowRankBlock.DeltaRounding.FUSED;
        // DoRA normalises per output feature: rows of a Linear weight, columns of Conv1D/Embedding weights.
        boolean perColumn = op.kind() != ModuleKind.LINEAR;
        DType baseType = fp8 == null ? s.source().info().dtype() : fp8.workType();
        DType mergedType = fp8 == null ? t.dtype() : fp8.workType();
        TensorProbe probe = verification.probe(t.name(), rows, cols, r, op.scale(), mergedType, left, right, magnitude,
                perColumn);
        for (Block block : s.blocks()) {
            int row0 = block.first();
            int n = block.count();
            LowRankBlock.Dora dora = magnitude == null ? null
                    : new LowRankBlock.Dora(perColumn ? magnitude : slice(magnitude, row0 * 4L, n * 4), perColumn);
            ByteBuffer leftRows = slice(left, (long) row0 * r * 4, Math.multiplyExact(Math.multiplyExact(n, r), 4));
            mergeBlock(block, inputs, outputs, readQueue, writeQueue, p, (in, out) -> {
                // an FP8 weight: dequantized before, re-quantized after, as transformers loads and saves it
                ByteBuffer w = fp8 == null ? in : fp8.dequantize(in, row0, n);
                ByteBuffer merged = fp8 == null ? out : fp8.mergedTarget(n, out);
                kernel.lowRank(new LowRankBlock(w, baseType, mergedType, leftRows, right, n, cols, r, op.scale(),
                        rounding, dora, merged));
                probe.checkBlock(w, baseType, merged, row0, n);
                if (fp8 != null && fp8.requantizes()) {
                    fp8.quantize(merged, row0, n, out);
                }
            });
        }
        if (fp8 != null && fp8.requantizes()) {
            fp8Scales.put(t.name(), fp8.newScaleInv());
        }
        verification.add(probe.result());
    }

    /**
     * A {@code target_parameters} delta: each block takes its expert's factors ({@link ParamFactors}); PEFT rounds
     * the delta to the parameter's dtype before adding it. One probe per expert checks the expert's rows.
     */
    private void parameterDelta(Step s, TensorOp.LowRank op, ByteBuffer a, ByteBuffer b, BufferPool inputs,
            BufferPool outputs, BlockingQueue<Input> readQueue, BlockingQueue<Task> writeQueue, Pipeline.Stage p)
            throws InterruptedException {
        PlannedTensor t = s.tensor();
        ParamSlice slice = op.parameter();
        int r = op.rank();
        int rows = slice.rowsPerExpert();
        int cols = slice.columns();
        DType baseType = s.source().info().dtype();
        if (MergeVerification.allZero(b)) {
            verification.zeroFactor(t.name(), op.loraB());
        }
        int expert = -1;
        ParamFactors factors = null;
        TensorProbe probe = null;
        for (Block block : s.blocks()) {
            int e = slice.allExperts() ? block.first() / rows : slice.expert();
            if (e != expert) {
                if (probe != null) {
                    verification.add(probe.result());
                }
                expert = e;
                factors = ParamFactors.of(a, b, r, slice, e);
                String name = slice.allExperts() ? t.name() + "[" + e + "]" : t.name();
                probe = verification.probe(name, rows, cols, r, op.scale(), t.dtype(), factors.left(),
                        factors.right(), null, false);
            }
            int row0 = block.first() - (slice.allExperts() ? e * rows : 0);
            int n = block.count();
            ByteBuffer leftRows = slice(factors.left(), (long) row0 * r * 4, Math.multiplyExact(Math.multiplyExact(n, r), 4));
            ByteBuffer right = factors.right();
            TensorProbe expertProbe = probe;
            mergeBlock(block, inputs, outputs, readQueue, writeQueue, p, (in, out) -> {
                kernel.lowRank(new LowRankBlock(in, baseType, t.dtype(), leftRows, right, n, cols, r, op.scale(),
                        LowRankBlock.DeltaRounding.DELTA_FIRST, null, out));
                expertProbe.checkBlock(in, baseType, out, row0, n);
            });
        }
        if (probe != null) {
            verification.add(probe.result());
        }
    }

    private void addBias(TensorStore store, Step s, BufferPool inputs, BufferPool outputs,
            BlockingQueue<Input> readQueue, BlockingQueue<Task> writeQueue, Pipeline.Stage p)
            throws IOException, RejectedException, InterruptedException {
        TensorOp.AddBias op = (TensorOp.AddBias) s.tensor().op();
        ByteBuffer loraBias = loader.load(store.adapterTensor(op.loraBBias()));
        Block block = s.blocks().get(0);
        ByteBuffer one = ByteBuffer.allocateDirect(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 1.0f);
        DType baseType = s.source().info().dtype();
        mergeBlock(block, inputs, outputs, readQueue, writeQueue, p, (in, out) -> {
            kernel.lowRank(new LowRankBlock(in, baseType, s.tensor().dtype(), one, loraBias, 1, block.count(), 1,
                    op.scale(), LowRankBlock.DeltaRounding.FUSED, null, out));
            verification.checkBias(s.tensor().name(), in, baseType, loraBias, op.scale(), out, s.tensor().dtype(),
                    block.count());
        });
    }

    /**
     * {@code trainable_token_indices}: each block is the weight's rows converted to the output dtype,
     * with the trained rows (fp32, as PEFT loads them) rounded to the output dtype in their place.
     */
    private void replaceRows(TensorStore store, Step s, BufferPool inputs, BufferPool outputs,
            BlockingQueue<Input> readQueue, BlockingQueue<Task> writeQueue, Pipeline.Stage p)
            throws IOException, RejectedException, InterruptedException {
        TensorOp.ReplaceRows op = (TensorOp.ReplaceRows) s.tensor().op();
        ByteBuffer rows = loader.load(store.adapterTensor(op.rows()));
        java.util.Map<Integer, Integer> rowOfIndex = new java.util.HashMap<>();
        for (int k = 0; k < op.indices().size(); k++) {
            rowOfIndex.put(op.indices().get(k), k);
        }
        int cols = s.tensor().shape().get(1).intValue();
        DType from = s.source().info().dtype();
        DType to = s.tensor().dtype();
        int outRowBytes = cols * to.byteSize();
        for (Block block : s.blocks()) {
            mergeBlock(block, inputs, outputs, readQueue, writeQueue, p, (in, out) -> {
                kernel.convert(in, from, out, to, block.count() * cols);
                for (int r = 0; r < block.count(); r++) {
                    Integer k = rowOfIndex.get(block.first() + r);
                    if (k != null) {
                        kernel.convert(slice(rows, (long) k * cols * 4, cols * 4), DType.F32,
                                slice(out, (long) r * outRowBytes, outRowBytes), to, cols);
                    }
                }
            });
        }
    }

    /** What the compute stage does with one block: read {@code in}, fill {@code out}. */
    @FunctionalInterface
    private interface BlockMerge {
        void apply(ByteBuffer in, ByteBuffer out);
    }

    /**
     * Takes the next input block, runs {@code merge} into a pooled output buffer and hands that to the
     * write stage; the input buffer always goes back to its pool, the output buffer too when the merge fails.
     */
    private static void mergeBlock(Block block, BufferPool inputs, BufferPool outputs, BlockingQueue<Input> readQueue,
            BlockingQueue<Task> writeQueue, Pipeline.Stage p, BlockMerge merge) throws InterruptedException {
        Input in = p.take(readQueue);
        BufferPool.Lease out;
        try {
            out = outputs.acquire(block.outBytes(), p);
        } catch (InterruptedException | RuntimeException e) {
            inputs.release(in.lease());
            throw e;
        }
        try {
            merge.apply(in.lease().view(), out.view());
        } catch (RuntimeException | Error e) {
            outputs.release(out);
            throw e;
        } finally {
            inputs.release(in.lease());
        }
        p.put(writeQueue, Task.write(out));
    }

    // ---- write stage --------------------------------------------------------------------------

    /** Work for the write stage, in plan order. */
    private record Task(Op op, String tensor, BufferPool.Lease block, TensorStore.Located source) {
        enum Op { OPEN, WRITE, COPY, CLOSE, END }

        static final Task CLOSE = new Task(Op.CLOSE, null, null, null);
        static final Task END = new Task(Op.END, null, null, null);

        static Task open(String tensor) {
            return new Task(Op.OPEN, tensor, null, null);
        }

        static Task write(BufferPool.Lease block) {
            return new Task(Op.WRITE, null, block, null);
        }

        static Task copy(TensorStore.Located source) {
            return new Task(Op.COPY, null, null, source);
        }
    }

    private static void write(CheckpointWriter writer, BlockingQueue<Task> queue, BufferPool outputs, Pipeline.Stage p,
            WriteProgress progress) throws IOException, InterruptedException {
        TensorSink sink = null;
        p.begin();
        try {
            while (true) {
                Task task = p.take(queue);
                switch (task.op()) {
                    case OPEN -> sink = writer.next(task.tensor());
                    case WRITE -> {
                        try {
                            ByteBuffer block = task.block().view();
                            int bytes = block.remaining();
                            sink.write(block);
                            progress.bytes(bytes);
                        } finally {
                            outputs.release(task.block());
                        }
                    }
                    case COPY -> {
                        TensorStore.Located src = task.source();
                        sink.copyFrom(src.file().channel(), src.position(), src.info().byteLength());
                        progress.bytes(src.info().byteLength());
                    }
                    case CLOSE -> {
                        sink.close();
                        sink = null;
                        progress.tensor();
                    }
                    case END -> {
                        p.end();
                        return;
                    }
                }
            }
        } finally {
            // Buffers still queued go back to the pool, so that execute() can free them.
            for (Task t; (t = queue.poll()) != null; ) {
                if (t.block() != null) {
                    outputs.release(t.block());
                }
            }
        }
    }

    /** Counts what the write stage has written and tells the listener; used by one thread at a time. */
    private static final class WriteProgress {
        private final ProgressListener listener;
        private final int tensorsTotal;
        private final long bytesTotal;
        private int tensorsDone;
        private long bytesDone;

        private WriteProgress(ProgressListener listener, int tensorsTotal, long bytesTotal) {
            this.listener = listener;
            this.tensorsTotal = tensorsTotal;
            this.bytesTotal = bytesTotal;
        }

        /** Tells {@code listener} that nothing of {@code plan} is written yet. */
        static WriteProgress of(MergePlan plan, ProgressListener listener) {
            long bytes = 0;
            for (PlannedTensor t : plan.tensors()) {
                bytes += t.spec().byteLength();
            }
            WriteProgress p = new WriteProgress(listener, plan.tensors().size(), bytes);
            p.tell();
            return p;
        }

        void bytes(long written) {
            bytesDone += written;
            tell();
        }

        void tensor() {
            tensorsDone++;
            tell();
        }

        private void tell() {
            listener.progress(tensorsDone, tensorsTotal, bytesDone, bytesTotal);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static void drain(BlockingQueue<Input> queue, BufferPool inputs) {
        for (Input in; (in = queue.poll()) != null; ) {
            if (in.lease() != null) {
                inputs.release(in.lease());
            }
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

    private static ByteBuffer slice(ByteBuffer b, long offset, int length) {
        return b.duplicate().position((int) offset).limit((int) offset + length).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Transposes a row-major fp32 matrix [rows, cols] into a new direct buffer [cols, rows]. */
    static ByteBuffer transpose(ByteBuffer m, int rows, int cols) {
        ByteBuffer out = ByteBuffer.allocateDirect(Math.multiplyExact(Math.multiplyExact(rows, cols), 4))
                .order(ByteOrder.LITTLE_ENDIAN);
        var in = m.duplicate().order(ByteOrder.LITTLE_ENDIAN).rewind().asFloatBuffer();
        var o = out.asFloatBuffer();
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                o.put(j * rows + i, in.get(i * cols + j));
            }
        }
        return out;
    }
}
