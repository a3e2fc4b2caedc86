package dev.mergeline.core.merge;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;

/**
 * The read stage of {@link MergeExecutor} (thread {@code mergeline-read}): reads every block of
 * every step, in order, with positional reads into buffers of the input pool, and queues them for
 * the compute stage. Each input byte is read once, copied tensors included (their blocks pass
 * through the compute stage to the writer unchanged). No mapping outlives its block, so resident
 * memory does not grow with the model.
 *
 * <p>An input file that is wholly in the page cache already (a warm cache) is read from there: a
 * copy out of memory, no device access. Any other file is read with {@code O_DIRECT} where the file
 * system allows it: the whole aligned pages around a block go from the device into the pooled
 * buffer, which {@link BufferPool.Lease#place} then narrows to the block. That skips the page
 * cache, whose allocation and copy cost more CPU than the rest of a read when the cache is cold,
 * and leaves the cache to other processes. Where the file system refuses {@code O_DIRECT} the reads
 * go through the page cache. Each file is judged once, when the stage first reads from it
 * ({@link #whollyCached}).
 */
final class ReadStage implements AutoCloseable {
    /** A block's input bytes, in a lease of the input pool. */
    record Input(BlockPlan.Block block, BufferPool.Lease lease) {}

    /** How base weights reach the pooled buffers. */
    enum Reads {
        /** From the page cache when the whole file is there, else with {@code O_DIRECT} where allowed. */
        CACHED_ELSE_DIRECT,
        /** With {@code O_DIRECT} wherever the file system allows it. */
        DIRECT,
        /** Through the page cache. */
        PAGE_CACHE
    }

    /** Bytes per mapping when checking whether a file is in the page cache. */
    private static final long CACHE_CHECK_BYTES = 1L << 30;

    private final List<MergeExecutor.Step> steps;
    private final BufferPool inputs;
    private final BlockingQueue<Input> queue;
    private final Reads reads;
    /** Each input file opened with {@code O_DIRECT}, or mapped to null where it is read through the page cache. */
    private final Map<Path, FileChannel> direct = new HashMap<>();

    ReadStage(List<MergeExecutor.Step> steps, BufferPool inputs, BlockingQueue<Input> queue, Reads reads) {
        this.steps = steps;
        this.inputs = inputs;
        this.queue = queue;
        this.reads = reads;
    }

    /** Closes the files this stage opened; call once the stage's thread has ended. */
    @Override
    public void close() {
        for (FileChannel ch : direct.values()) {
            try {
                if (ch != null) {
                    ch.close();
                }
            } catch (IOException e) {
                // read-only; nothing to lose
            }
        }
        direct.clear();
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
            FileChannel ch = reads == Reads.PAGE_CACHE ? null : directChannel(source);
            if (ch != null) {
                readAligned(ch, source, b, lease);
            } else {
                readFully(source, b.inOffset(), lease.view().duplicate());
            }
            return lease;
        } catch (IOException | RuntimeException e) {
            lease.release();
            throw e;
        }
    }

    /** The file's {@code O_DIRECT} channel, or null to read it through the page cache; decided once per file. */
    private FileChannel directChannel(TensorStore.Located source) {
        Path file = source.file().path();
        if (!direct.containsKey(file)) { // a null value is a decision too (computeIfAbsent would not keep it)
            boolean cached = reads == Reads.CACHED_ELSE_DIRECT && whollyCachedQuietly(source.file().channel());
            direct.put(file, cached ? null : openDirect(file));
        }
        return direct.get(file);
    }

    private static FileChannel openDirect(Path file) {
        try {
            // O_DIRECT positions and lengths must be multiples of the file system's block size
            long block = Files.getFileStore(file).getBlockSize();
            if (block < 1 || BufferPool.ALIGNMENT % block != 0) {
                return null;
            }
            return FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static boolean whollyCachedQuietly(FileChannel ch) {
        try {
            return whollyCached(ch);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Whether every page of the file is in the page cache ({@code mincore} through
     * {@link MappedByteBuffer#isLoaded}, on mappings that are never touched and unmapped at once, so
     * nothing becomes resident in this process). A hint: pages may be evicted right after.
     */
    static boolean whollyCached(FileChannel ch) throws IOException {
        long size = ch.size();
        for (long at = 0; at < size; at += CACHE_CHECK_BYTES) {
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, at, Math.min(CACHE_CHECK_BYTES, size - at));
            try {
                if (!map.isLoaded()) {
                    return false;
                }
            } finally {
                BufferPool.free(map);
            }
        }
        return true;
    }

    /**
     * Reads the aligned pages that hold block {@code b} into the lease's whole buffer and places the
     * lease's view on the block's bytes.
     */
    private static void readAligned(FileChannel ch, TensorStore.Located source, BlockPlan.Block b, BufferPool.Lease lease)
            throws IOException {
        int align = BufferPool.ALIGNMENT;
        long position = source.position() + b.inOffset();
        long start = position - position % align;
        int skip = (int) (position - start);
        long needed = skip + b.inBytes();
        ByteBuffer whole = lease.whole();
        whole.limit((int) ((needed + align - 1) / align * align));
        while (whole.position() < needed) {
            int n = ch.read(whole, start + whole.position());
            // a read that ends off a page boundary reached the end of the file
            if (n < 0 || whole.position() < needed && whole.position() % align != 0) {
                throw new IOException("tensor '" + source.info().name() + "' in " + source.file().path()
                        + " ends early (file truncated while merging?)");
            }
        }
        lease.place(skip);
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
