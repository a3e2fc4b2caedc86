package dev.mergeline.safetensors;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.RandomAccess;

/** An unmodifiable list of tensors sorted by data offset, with lookup by name. */
final class TensorList extends AbstractList<TensorInfo> implements RandomAccess {

    /** Data order: by start offset, then end offset (zero-length tensors before their neighbour). */
    static final Comparator<TensorInfo> DATA_ORDER =
            Comparator.comparingLong(TensorInfo::dataOffset).thenComparingLong(TensorInfo::dataEnd);

    private final TensorInfo[] items;
    private final Map<String, TensorInfo> byName;

    private TensorList(TensorInfo[] items, Map<String, TensorInfo> byName) {
        this.items = items;
        this.byName = byName;
    }

    /** Copies and sorts the tensors; IllegalArgumentException on a repeated name. */
    static TensorList sortedCopyOf(Collection<TensorInfo> tensors) {
        if (tensors instanceof TensorList already) {
            return already;
        }
        List<TensorInfo> sorted = new ArrayList<>(tensors);
        sorted.sort(DATA_ORDER);
        Map<String, TensorInfo> byName = new HashMap<>(Math.max(16, sorted.size() * 2));
        for (TensorInfo t : sorted) {
            if (byName.putIfAbsent(t.name(), t) != null) {
                throw new IllegalArgumentException("tensor name '" + t.name() + "' appears twice");
            }
        }
        return new TensorList(sorted.toArray(new TensorInfo[0]), byName);
    }

    Optional<TensorInfo> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    @Override
    public TensorInfo get(int index) {
        return items[index];
    }

    @Override
    public int size() {
        return items.length;
    }
}
