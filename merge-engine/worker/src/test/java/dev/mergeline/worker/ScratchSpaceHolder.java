package dev.mergeline.worker;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A stand-in worker process for {@link ScratchSpaceTest}: claims a scratch directory in {@code args[0]}
 * as the worker does, writes one job file, prints its directory and waits to be killed.
 */
public final class ScratchSpaceHolder {
    static final String JOB_ID = "0123456789abcdef0123456789abcdef";
    static final int FILE_BYTES = 1000;

    private ScratchSpaceHolder() {}

    public static void main(String[] args) throws Exception {
        ScratchSpace scratch = ScratchSpace.open(Path.of(args[0]));
        Path job = Files.createDirectories(scratch.jobDir(JOB_ID));
        Files.write(job.resolve("model.safetensors"), new byte[FILE_BYTES]);
        System.out.println(scratch.dir());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
