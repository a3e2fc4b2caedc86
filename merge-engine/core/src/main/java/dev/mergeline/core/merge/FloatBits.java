package dev.mergeline.core.merge;

import dev.mergeline.safetensors.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Bit-exact conversions between fp32 and the 16-bit float formats, as torch's {@code .to(dtype)}
 * performs them: round-to-nearest-even, overflow to ±infinity, f16 subnormals handled exactly.
 *
 * <p>NaN stays NaN: narrowing keeps the sign and the top payload bits and sets the quiet bit
 * (what the x86 F16C / AVX-512 conversion instructions do). Payloads are not normative: torch
 * itself produces different NaN bit patterns on different code paths, so comparisons should treat
 * all NaNs as equal ({@link #ulpDistance(float, float)} does). Widening (16 → 32 bits) is exact;
 * f16 NaNs come out quiet, bf16 NaNs keep their bits.
 *
 * <p>The buffer helpers address elements relative to the buffer's position and always use
 * little-endian byte order, whatever the buffer's own {@link ByteBuffer#order()}; they never move
 * the position.
 */
public final class FloatBits {

    private FloatBits() {}

    /** bf16 bits (low 16 bits of {@code bits}) to fp32; exact. */
    public static float bf16ToFloat(int bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** fp32 to bf16 bits with round-to-nearest-even. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) { // NaN: keep sign and top payload, force quiet
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    /** f16 bits (low 16 bits of {@code bits}) to fp32; exact. */
    public static float f16ToFloat(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(
                    mantissa == 0 ? sign | 0x7F800000 : sign | 0x7FC00000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // ±0 or subnormal: mantissa · 2^-24, exact in fp32.
            float magnitude = mantissa * 0x1p-24f;
            return Float.intBitsToFloat(sign | Float.floatToRawIntBits(magnitude));
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** fp32 to f16 bits with round-to-nearest-even, overflow to infinity and exact subnormals. */
    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= 0x7F800000) {
            if (abs == 0x7F800000) {
                return (short) (sign | 0x7C00);
            }
            return (short) (sign | 0x7E00 | ((abs >>> 13) & 0x3FF));
        }
        if (abs >= 0x477FF000) { // >= 65520 rounds past the largest finite f16 (65504)
            return (short) (sign | 0x7C00);
        }
        if (abs <= 0x33000000) { // <= 2^-25: half of the smallest subnormal or less, ties to 0
            return (short) sign;
        }
        if (abs < 0x38800000) { // below 2^-14: f16 subnormal, unit 2^-24
            int exponent = abs >>> 23;
            int mantissa = (abs & 0x7FFFFF) | 0x800000;
            int shift = 126 - exponent; // 14..24
            int quotient = mantissa >>> shift;
            int remainder = mantissa & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (remainder > half || (remainder == half && (quotient & 1) != 0)) {
                quotient++; // may carry into the smallest normal, which encodes correctly
            }
            return (short) (sign | quotient);
        }
        int half = (abs - 0x38000000) >>> 13; // rebias exponent 127 -> 15, keep 10 mantissa bits
        int remainder = abs & 0x1FFF;
        if (remainder > 0x1000 || (remainder == 0x1000 && (half & 1) != 0)) {
            half++; // a carry into the exponent is the correct rounding
        }
        return (short) (sign | half);
    }

    /** Rounds {@code value} to {@code type} (F32, F16 or BF16) and back to fp32. */
    public static float round(float value, DType type) {
        return switch (type) {
            case F32 -> value;
            case F16 -> f16ToFloat(floatToF16(value));
            case BF16 -> bf16ToFloat(floatToBf16(value));
            default -> throw unsupported(type);
        };
    }

    /** The raw bits of {@code value} narrowed to {@code type}, in the low bits of an int. */
    public static int toBits(float value, DType type) {
        return switch (type) {
            case F32 -> Float.floatToRawIntBits(value);
            case F16 -> floatToF16(value) & 0xFFFF;
            case BF16 -> floatToBf16(value) & 0xFFFF;
            default -> throw unsupported(type);
        };
    }

    /** The fp32 value of raw {@code type} bits. */
    public static float fromBits(int bits, DType type) {
        return switch (type) {
            case F32 -> Float.intBitsToFloat(bits);
            case F16 -> f16ToFloat(bits);
            case BF16 -> bf16ToFloat(bits);
            default -> throw unsupported(type);
        };
    }

    /** Reads the raw bits of element {@code index} (counted from the position), little-endian. */
    public static int getBits(ByteBuffer buffer, DType type, int index) {
        int offset = buffer.position() + index * type.byteSize();
        boolean little = buffer.order() == ByteOrder.LITTLE_ENDIAN;
        return switch (type) {
            case F32 -> little ? buffer.getInt(offset) : Integer.reverseBytes(buffer.getInt(offset));
            case F16, BF16 -> (little ? buffer.getShort(offset) : Short.reverseBytes(buffer.getShort(offset))) & 0xFFFF;
            default -> throw unsupported(type);
        };
    }

    /** Writes raw bits to element {@code index} (counted from the position), little-endian. */
    public static void putBits(ByteBuffer buffer, DType type, int index, int bits) {
        int offset = buffer.position() + index * type.byteSize();
        boolean little = buffer.order() == ByteOrder.LITTLE_ENDIAN;
        switch (type) {
            case F32 -> buffer.putInt(offset, little ? bits : Integer.reverseBytes(bits));
            case F16, BF16 -> buffer.putShort(offset, little ? (short) bits : Short.reverseBytes((short) bits));
            default -> throw unsupported(type);
        }
    }

    /** Reads element {@code index} (counted from the position) as fp32; exact. */
    public static float get(ByteBuffer buffer, DType type, int index) {
        return fromBits(getBits(buffer, type, index), type);
    }

    /** Rounds {@code value} to {@code type} and writes it to element {@code index}. */
    public static void put(ByteBuffer buffer, DType type, int index, float value) {
        putBits(buffer, type, index, toBits(value, type));
    }

    /**
     * Distance between two fp32 values in units in the last place: the number of representable
     * floats between them. +0 and -0 are 0 apart, two NaNs are 0 apart, a NaN and a number are
     * {@link Long#MAX_VALUE} apart.
     */
    public static long ulpDistance(float a, float b) {
        return orderedDistance(Float.floatToRawIntBits(a), Float.floatToRawIntBits(b), DType.F32);
    }

    /** {@link #ulpDistance(float, float)} for raw bits of {@code type} (F32, F16 or BF16). */
    public static long ulpDistance(int aBits, int bBits, DType type) {
        return orderedDistance(aBits, bBits, type);
    }

    /** True when raw bits of {@code type} encode a NaN. */
    public static boolean isNaN(int bits, DType type) {
        return Float.isNaN(fromBits(bits, type));
    }

    private static long orderedDistance(int aBits, int bBits, DType type) {
        boolean aNaN = isNaN(aBits, type);
        boolean bNaN = isNaN(bBits, type);
        if (aNaN || bNaN) {
            return aNaN && bNaN ? 0 : Long.MAX_VALUE;
        }
        return Math.abs(ordered(aBits, type) - ordered(bBits, type));
    }

    private static long ordered(int bits, DType type) {
        long signBit = type == DType.F32 ? 0x80000000L : 0x8000L;
        long raw = type == DType.F32 ? bits & 0xFFFFFFFFL : bits & 0xFFFFL;
        long magnitude = raw & (signBit - 1);
        return (raw & signBit) != 0 ? -magnitude : magnitude;
    }

    private static IllegalArgumentException unsupported(DType type) {
        return new IllegalArgumentException("not an F32/F16/BF16 type: " + type);
    }
}
