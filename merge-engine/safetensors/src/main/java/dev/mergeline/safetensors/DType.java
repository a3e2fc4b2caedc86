package dev.mergeline.safetensors;

import java.util.Locale;
import java.util.Optional;

/** Element types of the safetensors format, with their on-disk names and sizes in bytes. */
public enum DType {
    BOOL(1, false),
    U8(1, false),
    I8(1, false),
    F8_E5M2(1, true),
    F8_E4M3(1, true),
    I16(2, false),
    U16(2, false),
    F16(2, true),
    BF16(2, true),
    I32(4, false),
    U32(4, false),
    F32(4, true),
    F64(8, true),
    I64(8, false),
    U64(8, false);

    private final int byteSize;
    private final boolean floatingPoint;

    DType(int byteSize, boolean floatingPoint) {
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /** True for the types Mergeline computes in: F32, F16 and BF16. */
    public boolean isMergeable() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** The name used in safetensors headers ("F32", "BF16", ...). */
    public String safetensorsName() {
        return name();
    }

    /** Parses a safetensors header dtype name; empty for names this version does not know. */
    public static Optional<DType> fromSafetensorsName(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /**
     * Parses a user- or config-facing dtype name: "bf16", "bfloat16", "fp16", "float16", "half",
     * "fp32", "float32", "float". Empty for anything else.
     */
    public static Optional<DType> fromTorchName(String name) {
        if (name == null) {
            return Optional.empty();
        }
        return switch (name.toLowerCase(Locale.ROOT).replace("torch.", "")) {
            case "bf16", "bfloat16" -> Optional.of(BF16);
            case "fp16", "f16", "float16", "half" -> Optional.of(F16);
            case "fp32", "f32", "float32", "float" -> Optional.of(F32);
            case "fp64", "f64", "float64", "double" -> Optional.of(F64);
            default -> Optional.empty();
        };
    }

    /** The Hugging Face config.json spelling ("bfloat16", "float16", "float32"). */
    public String torchName() {
        return switch (this) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
            case F64 -> "float64";
            default -> name().toLowerCase(Locale.ROOT);
        };
    }
}
