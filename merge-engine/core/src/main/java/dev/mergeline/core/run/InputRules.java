package dev.mergeline.core.run;

import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.CheckpointIndex;
import dev.mergeline.safetensors.FileNames;
import dev.mergeline.safetensors.HeaderLimits;
import dev.mergeline.safetensors.SafetensorsException;
import dev.mergeline.safetensors.SafetensorsHeader;
import dev.mergeline.safetensors.TensorInfo;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The rules for an adapter directory and a base checkpoint directory, the same wherever the files
 * are ({@link InputSource}: a local directory, an S3 prefix): which files must be there, how large
 * the configs may be, pickle-only weights, {@link InputLimits} (each checked before the input it
 * bounds is read), the shard index against the shards' headers, and a tensor stored in two shards.
 * Reads the two configs, the index and the safetensors headers (the first 8 bytes, then exactly the
 * header), never tensor data.
 */
public final class InputRules {
    public static final String ADAPTER_CONFIG = "adapter_config.json";
    public static final String ADAPTER_WEIGHTS = "adapter_model.safetensors";
    /** Adapter weights in pickle, which can run code when loaded: refused. */
    public static final String ADAPTER_PICKLE = "adapter_model.bin";
    public static final String BASE_CONFIG = "config.json";
    /** Base weights in pickle, unsharded and sharded: refused. */
    public static final List<String> BASE_PICKLE = List.of("pytorch_model.bin", "pytorch_model.bin.index.json");
    /**
     * Largest configuration file read ({@code adapter_config.json}, {@code config.json}, other small
     * JSON beside them). Real ones are a few kilobytes; the shard index, which lists every tensor,
     * is bounded like a safetensors header instead ({@link InputLimits#maxHeaderBytes()}).
     */
    public static final int MAX_CONFIG_BYTES = 1 << 20;

    private final InputLimits limits;

    public InputRules(InputLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /**
     * What was read from an adapter directory, or why it cannot be used.
     *
     * @param configJson {@code adapter_config.json}, or null when it was not read
     * @param header the header of {@code adapter_model.safetensors}, or null when it was not read
     * @param files the files read, in order
     * @param problems every rule the directory breaks; empty when both files were read
     */
    public record Adapter(byte[] configJson, SafetensorsHeader header, List<String> files, List<Reason> problems) {
        public Adapter {
            files = List.copyOf(files);
            problems = List.copyOf(problems);
        }
    }

    /**
     * What was read from a base checkpoint directory, or why it cannot be used.
     *
     * @param configJson {@code config.json}, or null when it was not read
     * @param tensors every tensor of every shard, in shard order then data order (empty when not read)
     * @param files the files read, in order: config, index (when sharded), shards in file name order
     * @param problems every rule the directory breaks; empty when the whole checkpoint was read
     */
    public record Base(byte[] configJson, List<TensorInfo> tensors, List<String> files, List<Reason> problems) {
        public Base {
            tensors = List.copyOf(tensors);
            files = List.copyOf(files);
            problems = List.copyOf(problems);
        }
    }

    /** Whether an adapter directory holding these files has everything it needs to be judged. */
    public static boolean adapterComplete(Set<String> fileNames) {
        return fileNames.contains(ADAPTER_CONFIG)
                && (fileNames.contains(ADAPTER_WEIGHTS) || fileNames.contains(ADAPTER_PICKLE));
    }

    /** Both directories, every problem of both in one rejection. */
    public <X extends Exception> MergeInputs read(InputSource<X> adapterDir, InputSource<X> baseDir)
            throws X, RejectedException {
        return inputs(adapter(adapterDir), base(baseDir));
    }

    /** The inputs of a validation, or a rejection with every problem of both directories. */
    public static MergeInputs inputs(Adapter adapter, Base base) throws RejectedException {
        List<Reason> problems = new ArrayList<>(adapter.problems());
        problems.addAll(base.problems());
        if (!problems.isEmpty()) {
            throw new RejectedException(problems);
        }
        return new MergeInputs(adapter.configJson(), adapter.header(), base.configJson(), base.tensors());
    }

    /** Reads an adapter directory: its config, and its weights' header after their size is checked. */
    public <X extends Exception> Adapter adapter(InputSource<X> dir) throws X {
        Map<String, Long> files = dir.files();
        List<Reason> problems = new ArrayList<>();
        List<String> read = new ArrayList<>();
        byte[] config = requiredConfig(dir, files, ADAPTER_CONFIG, ReasonCode.ADAPTER_FILES_MISSING,
                ReasonCode.ADAPTER_CONFIG_INVALID, read, problems);
        SafetensorsHeader header = null;
        Long weightBytes = files.get(ADAPTER_WEIGHTS);
        if (weightBytes != null) {
            Optional<Reason> tooLarge = limits.checkAdapterBytes(ADAPTER_WEIGHTS, weightBytes);
            if (tooLarge.isPresent()) {
                problems.add(tooLarge.get());
            } else {
                header = header(dir, ADAPTER_WEIGHTS, weightBytes, limits.adapterHeader(), problems);
                read.add(ADAPTER_WEIGHTS);
            }
        } else if (files.containsKey(ADAPTER_PICKLE)) {
            problems.add(Reason.about(ReasonCode.PICKLE_WEIGHTS_REFUSED, ADAPTER_PICKLE, "the adapter ships only "
                    + ADAPTER_PICKLE + " (pickle, which can run code when loaded); save it with safe_serialization=True"));
        } else {
            problems.add(Reason.about(ReasonCode.ADAPTER_FILES_MISSING, ADAPTER_WEIGHTS,
                    "the adapter directory " + dir.locate("") + " has no " + ADAPTER_WEIGHTS));
        }
        return new Adapter(config, header, read, problems);
    }

    /**
     * Reads a base checkpoint directory: {@code config.json}, then {@code model.safetensors.index.json}
     * and every shard it names when there is an index, else {@code model.safetensors}.
     */
    public <X extends Exception> Base base(InputSource<X> dir) throws X {
        Map<String, Long> files = dir.files();
        List<Reason> problems = new ArrayList<>();
        List<String> read = new ArrayList<>();
        List<TensorInfo> tensors = new ArrayList<>();
        if (files.isEmpty()) {
            problems.add(Reason.about(ReasonCode.BASE_MODEL_UNKNOWN, null, "no base model at " + dir.locate("")));
            return new Base(null, tensors, read, problems);
        }
        byte[] config = requiredConfig(dir, files, BASE_CONFIG, ReasonCode.BASE_MODEL_UNKNOWN,
                ReasonCode.BASE_MODEL_UNKNOWN, read, problems);
        if (files.containsKey(FileNames.INDEX)) {
            read.add(FileNames.INDEX);
            sharded(dir, files, read, tensors, problems);
        } else if (files.containsKey(FileNames.SINGLE)) {
            read.add(FileNames.SINGLE);
            SafetensorsHeader h = header(dir, FileNames.SINGLE, files.get(FileNames.SINGLE), limits.baseHeader(),
                    problems);
            if (h != null) {
                tensors.addAll(h.tensors());
            }
        } else if (BASE_PICKLE.stream().anyMatch(files::containsKey)) {
            String pickle = BASE_PICKLE.stream().filter(files::containsKey).findFirst().orElseThrow();
            problems.add(Reason.about(ReasonCode.PICKLE_WEIGHTS_REFUSED, pickle, "the base " + dir.locate("")
                    + " ships only " + pickle + " (pickle, which can run code when loaded); convert it to safetensors"));
        } else {
            problems.add(Reason.about(ReasonCode.BASE_MODEL_UNKNOWN, FileNames.SINGLE, "the base directory "
                    + dir.locate("") + " has no safetensors weights (" + FileNames.SINGLE + " or " + FileNames.INDEX
                    + ")"));
        }
        return new Base(config, problems.isEmpty() ? tensors : List.of(), read, problems);
    }

    /**
     * A small JSON file beside the inputs (such as a merge options file), read whole under
     * {@link #MAX_CONFIG_BYTES}.
     *
     * @return the bytes, or empty when the directory has no such file
     * @throws RejectedException {@link ReasonCode#ADAPTER_CONFIG_INVALID} when it is too large
     */
    public <X extends Exception> Optional<byte[]> optionalConfig(InputSource<X> dir, String file)
            throws X, RejectedException {
        Long size = dir.files().get(file);
        if (size == null) {
            return Optional.empty();
        }
        List<Reason> problems = new ArrayList<>();
        byte[] bytes = config(dir, file, size, ReasonCode.ADAPTER_CONFIG_INVALID, problems);
        if (!problems.isEmpty()) {
            throw new RejectedException(problems);
        }
        return Optional.of(bytes);
    }

    private <X extends Exception> void sharded(InputSource<X> dir, Map<String, Long> files, List<String> read,
            List<TensorInfo> tensors, List<Reason> problems) throws X {
        long indexBytes = files.get(FileNames.INDEX);
        try {
            if (indexBytes > Math.min(limits.maxHeaderBytes(), Integer.MAX_VALUE)) {
                throw new SafetensorsException(SafetensorsException.Reason.INVALID_INDEX, FileNames.INDEX + " has "
                        + indexBytes + " bytes, above the limit of " + Math.min(limits.maxHeaderBytes(), Integer.MAX_VALUE), null);
            }
            CheckpointIndex index = CheckpointIndex.parse(dir.read(FileNames.INDEX, 0, (int) indexBytes));
            Map<String, SafetensorsHeader> headers = new LinkedHashMap<>();
            for (String shard : index.shardFiles()) {
                Long size = files.get(shard);
                if (size == null) {
                    throw index.missingShard(shard);
                }
                read.add(shard);
                SafetensorsHeader h = header(dir, shard, size, limits.baseHeader(), problems);
                if (h == null) {
                    return;
                }
                headers.put(shard, h);
            }
            index.locate(headers);
            headers.values().forEach(h -> tensors.addAll(h.tensors()));
        } catch (SafetensorsException e) {
            problems.add(limits.headerReason(e, FileNames.INDEX));
        }
    }

    /** A configuration file that must be there: {@code missing} when it is not, else read under the cap. */
    private <X extends Exception> byte[] requiredConfig(InputSource<X> dir, Map<String, Long> files, String file,
            ReasonCode missing, ReasonCode tooLarge, List<String> read, List<Reason> problems) throws X {
        Long size = files.get(file);
        if (size == null) {
            problems.add(Reason.about(missing, file, dir.locate("") + " has no " + file));
            return null;
        }
        read.add(file);
        return config(dir, file, size, tooLarge, problems);
    }

    private <X extends Exception> byte[] config(InputSource<X> dir, String file, long size, ReasonCode tooLarge,
            List<Reason> problems) throws X {
        if (size > MAX_CONFIG_BYTES) {
            problems.add(Reason.mismatch(tooLarge, file, file + " is too large (" + dir.locate(file) + ")",
                    "<= " + MAX_CONFIG_BYTES + " bytes", size));
            return null;
        }
        return dir.read(file, 0, (int) size);
    }

    /** The first 8 bytes, then exactly the header; limits are checked before anything large is read. */
    private <X extends Exception> SafetensorsHeader header(InputSource<X> dir, String file, long size,
            HeaderLimits headerLimits, List<Reason> problems) throws X {
        try {
            byte[] first8 = dir.read(file, 0, (int) Math.min(8, size));
            long length = SafetensorsHeader.parseHeaderLength(ByteBuffer.wrap(first8), size,
                    headerLimits.maxHeaderBytes());
            return SafetensorsHeader.parse(dir.read(file, 8, Math.toIntExact(length)), size, headerLimits.maxTensors());
        } catch (SafetensorsException e) {
            problems.add(limits.headerReason(e, file));
            return null;
        }
    }
}
