package dev.mergeline.core.plan;

/**
 * Where a tensor's bytes come from.
 *
 * @param origin the base checkpoint or the adapter file
 * @param name the tensor name inside that origin
 */
public record TensorSource(Origin origin, String name) {
    public enum Origin {
        BASE,
        ADAPTER
    }

    public static TensorSource base(String name) {
        return new TensorSource(Origin.BASE, name);
    }

    public static TensorSource adapter(String name) {
        return new TensorSource(Origin.ADAPTER, name);
    }
}
