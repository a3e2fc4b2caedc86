package dev.mergeline.safetensors;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which tensors go into which shard file, by Hugging Face's rule.
 *
 * @param shards the shard files in order
 */
public record ShardLayout(List<Shard> shards) {

    /**
     * One shard file and the tensors it holds, in file order.
     *
     * @param fileName name of the file inside the checkpoint directory
     * @param tensors  the tensors, in the order their data is written
     */
    public record Shard(String fileName, List<TensorSpec> tensors) {

        public Shard {
            Objects.requireNonNull(fileName, "fileName");
            tensors = List.copyOf(tensors);
        }

        /** Sum of the tensors' byte lengths. */
        public long tensorBytes() {
            long sum = 0;
            for (TensorSpec t : tensors) {
                sum = Math.addExact(sum, t.byteLength());
            }
            return sum;
        }
    }

    /** @throws IllegalArgumentException if there is no shard, or a tensor or file name repeats */
    public ShardLayout {
        shards = List.copyOf(shards);
        if (shards.isEmpty()) {
            throw new IllegalArgumentException("a layout needs at least one shard");
        }
        Set<String> files = new HashSet<>();
        Set<String> names = new HashSet<>();
        for (Shard s : shards) {
            if (!files.add(s.fileName())) {
                throw new IllegalArgumentException("shard file name '" + s.fileName() + "' appears twice");
            }
            for (TensorSpec t : s.tensors()) {
                if (!names.add(t.name())) {
                    throw new IllegalArgumentException("tensor name '" + t.name() + "' appears twice");
                }
            }
        }
    }

    /**
     * Splits tensors into shards, keeping their order: a new shard starts when adding a tensor
     * would push the current, non-empty shard's tensor bytes over {@code maxShardBytes}, so a
     * tensor bigger than the limit sits alone. One shard is named "model.safetensors"; several are
     * named "model-00001-of-00003.safetensors" and so on. No tensors give one empty shard.
     *
     * @throws IllegalArgumentException if maxShardBytes is not positive or a tensor name repeats
     */
    public static ShardLayout plan(List<TensorSpec> tensors, long maxShardBytes) {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be > 0, got " + maxShardBytes);
        }
        List<List<TensorSpec>> groups = new ArrayList<>();
        List<TensorSpec> current = new ArrayList<>();
        long currentBytes = 0;
        Set<String> names = new HashSet<>();
        for (TensorSpec t : tensors) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("tensor name '" + t.name() + "' appears twice");
            }
            long size = t.byteLength();
            if (!current.isEmpty() && size > maxShardBytes - currentBytes) {
                groups.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(t);
            currentBytes = Math.addExact(currentBytes, size);
        }
        groups.add(current);
        List<Shard> shards = new ArrayList<>(groups.size());
        for (int i = 0; i < groups.size(); i++) {
            shards.add(new Shard(FileNames.shard(i, groups.size()), groups.get(i)));
        }
        return new ShardLayout(shards);
    }

    /** True when there is more than one shard (and so an index file). */
    public boolean sharded() {
        return shards.size() > 1;
    }

    /** Sum of all tensors' byte lengths. */
    public long totalTensorBytes() {
        long sum = 0;
        for (Shard s : shards) {
            sum = Math.addExact(sum, s.tensorBytes());
        }
        return sum;
    }

    /** All tensors in write order. */
    public List<TensorSpec> tensors() {
        List<TensorSpec> all = new ArrayList<>();
        for (Shard s : shards) {
            all.addAll(s.tensors());
        }
        return all;
    }
}
