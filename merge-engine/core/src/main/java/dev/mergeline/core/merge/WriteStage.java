package dev.mergeline.core.merge;

import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.PlannedTensor;
import dev.mergeline.safetensors.CheckpointWriter;
import dev.mergeline.safetensors.TensorSink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;

/**
 * The write stage of {@link MergeExecutor} (thread {@code mergeline-write}): the only thread that
 * touches the {@link CheckpointWriter}. It opens each tensor's sink, writes its blocks in order (the
 * writer hashes them for the manifest), closes it, and hands every buffer back to its pool.
 */
final class WriteStage {
    /** Work for the write stage, in plan order. */
    record Task(Op op, String tensor, BufferPool.Lease block) {
        enum Op { OPEN, WRITE, CLOSE, END }

        static final Task CLOSE = new Task(Op.CLOSE, null, null);
        static final Task END = new Task(Op.END, null, null);

        static Task open(String tensor) {
            return new Task(Op.OPEN, tensor, null);
        }

        static Task write(BufferPool.Lease block) {
            return new Task(Op.WRITE, null, block);
        }
    }

    private final CheckpointWriter writer;
    private final BlockingQueue<Task> queue;
    private final Progress progress;

    WriteStage(CheckpointWriter writer, BlockingQueue<Task> queue, Progress progress) {
        this.writer = writer;
        this.queue = queue;
        this.progress = progress;
    }

    void run(Pipeline.Stage p) throws IOException, InterruptedException {
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
                            sink.write(block.duplicate());
                            progress.bytes(bytes);
                        } finally {
                            task.block().release();
                        }
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
            drain(queue);
        }
    }

    /** Hands back every buffer still queued, so that the pools can free them. */
    static void drain(BlockingQueue<Task> queue) {
        for (Task t; (t = queue.poll()) != null; ) {
            if (t.block() != null) {
                t.block().release();
            }
        }
    }

    /** Counts what the write stage has written and tells the listener; used by one thread at a time. */
    static final class Progress {
        private final ProgressListener listener;
        private final int tensorsTotal;
        private final long bytesTotal;
        private int tensorsDone;
        private long bytesDone;

        private Progress(ProgressListener listener, int tensorsTotal, long bytesTotal) {
            this.listener = listener;
            this.tensorsTotal = tensorsTotal;
            this.bytesTotal = bytesTotal;
        }

        /** Tells {@code listener} that nothing of {@code plan} is written yet. */
        static Progress of(MergePlan plan, ProgressListener listener) {
            long bytes = 0;
            for (PlannedTensor t : plan.tensors()) {
                bytes += t.spec().byteLength();
            }
            Progress p = new Progress(listener, plan.tensors().size(), bytes);
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
}
