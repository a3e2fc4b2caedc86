package dev.mergeline.core.quant;

/**
 * The {@code float8_e4m3fn} format (safetensors {@code F8_E4M3}): 1 sign, 4 exponent (bias 7) and 3
 * mantissa bits, subnormals, no infinities, NaN {@code S.1111.111}, largest finite value 448. The
 * conversions are torch's ({@code c10/util/Float8_e4m3fn.h}), bit for bit.
 */
public final class Fp8E4m3 {
    /** The largest finite value, {@code torch.finfo(torch.float8_e4m3fn).max}. */
    public static final float MAX = 448f;

    private static final float[] DECODED = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            DECODED[b] = decodeBits(b);
        }
    }

    private Fp8E4m3() {}

    /** The value of one stored byte, exactly ({@code fp8.to(torch.float32)}). */
    public static float decode(byte b) {
        return DECODED[b & 0xFF];
    }

    private static float decodeBits(int b) {
        float sign = (b & 0x80) != 0 ? -1f : 1f;
        int exponent = (b >>> 3) & 0xF;
        int mantissa = b & 0x7;
        if (exponent == 0xF && mantissa == 0x7) {
            return Float.NaN;
        }
        if (exponent == 0) {
            return sign * Math.scalb((float) mantissa, -9); // subnormal: m/8 · 2^-6
        }
        return sign * Math.scalb(1f + mantissa / 8f, exponent - 7);
    }

    /**
     * {@code value.to(torch.float8_e4m3fn)} as torch 2.13 does it on CPU: round to nearest, ties to
     * even; magnitudes beyond the largest finite value (above 464, which ties to 448) and
     * infinities saturate to ±448; NaN stays NaN ({@code 0x7F} with its sign).
     */
    public static byte encode(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = bits & 0x8000_0000;
        int magnitude = bits ^ sign;
        int result;
        if (magnitude > 0x7F80_0000) {
            result = 0x7F; // NaN
        } else if (magnitude > Float.floatToRawIntBits(464f)) {
            result = 0x7E; // saturates, infinities included
        } else if (magnitude < (121 << 23)) {
            // below the smallest normal 2^-6: adding 2^-2 lines the subnormal's bits up with the
            // float's low mantissa bits, and the float addition rounds to nearest even
            int denormMask = 141 << 23;
            result = Float.floatToRawIntBits(Float.intBitsToFloat(magnitude) + Float.intBitsToFloat(denormMask))
                    - denormMask;
        } else {
            int odd = (magnitude >>> 20) & 1;
            magnitude += ((7 - 127) << 23) + 0x7FFFF + odd;
            result = magnitude >>> 20;
        }
        return (byte) (result | (sign >>> 24));
    }
}
