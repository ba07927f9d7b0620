package io.baton.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Test-only dequantization of Q4_0, Q4_K and Q6_K (GGML's ggml-quants.c dequantize_row_q4_0 / _q4_K / _q6_K),
 * written independently of {@link Quantize} to check it by round trip; other types go through {@link Dequant}.
 * (Dequant itself gains these types in another branch; until then the quantizer tests use this.)
 */
public final class TestDequant {
    private TestDequant() {}

    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(LE_SHORT, off));
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xff;
    }

    public static void row(GgmlType type, MemorySegment data, long off, float[] out, int outOff, int n) {
        switch (type) {
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long base = off + 18L * b;
                    float d = f16(data, base);
                    for (int j = 0; j < 16; j++) {
                        int q = u8(data, base + 2 + j);
                        out[outOff + 32 * b + j] = ((q & 0xF) - 8) * d;
                        out[outOff + 32 * b + j + 16] = ((q >> 4) - 8) * d;
                    }
                }
            }
            case Q4_K -> {
                for (int b = 0; b < n / 256; b++) {
                    long base = off + 144L * b;
                    float d = f16(data, base), dmin = f16(data, base + 2);
                    int[] sc = new int[8], mn = new int[8];
                    for (int j = 0; j < 8; j++) {
                        if (j < 4) {
                            sc[j] = u8(data, base + 4 + j) & 63;
                            mn[j] = u8(data, base + 8 + j) & 63;
                        } else {
                            sc[j] = (u8(data, base + 4 + j + 4) & 0xF) | ((u8(data, base + 4 + j - 4) >> 6) << 4);
                            mn[j] = (u8(data, base + 4 + j + 4) >> 4) | ((u8(data, base + 4 + j) >> 6) << 4);
                        }
                    }
                    int o = outOff + 256 * b;
                    for (int chunk = 0; chunk < 4; chunk++) {
                        long q = base + 16 + 32L * chunk;
                        int s0 = 2 * chunk, s1 = 2 * chunk + 1;
                        for (int l = 0; l < 32; l++) out[o + 64 * chunk + l] = d * sc[s0] * (u8(data, q + l) & 0xF) - dmin * mn[s0];
                        for (int l = 0; l < 32; l++) out[o + 64 * chunk + 32 + l] = d * sc[s1] * (u8(data, q + l) >> 4) - dmin * mn[s1];
                    }
                }
            }
            case Q6_K -> {
                for (int b = 0; b < n / 256; b++) {
                    long base = off + 210L * b;
                    float d = f16(data, base + 208);
                    for (int half = 0; half < 2; half++) {
                        long ql = base + 64L * half, qh = base + 128 + 32L * half, sc = base + 192 + 8L * half;
                        int o = outOff + 256 * b + 128 * half;
                        for (int l = 0; l < 32; l++) {
                            int is = l / 16;
                            int h = u8(data, qh + l);
                            int q1 = ((u8(data, ql + l) & 0xF) | ((h & 3) << 4)) - 32;
                            int q2 = ((u8(data, ql + l + 32) & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                            int q3 = ((u8(data, ql + l) >> 4) | (((h >> 4) & 3) << 4)) - 32;
                            int q4 = ((u8(data, ql + l + 32) >> 4) | (((h >> 6) & 3) << 4)) - 32;
                            out[o + l] = d * data.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                            out[o + l + 32] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                            out[o + l + 64] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                            out[o + l + 96] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
                        }
                    }
                }
            }
            default -> Dequant.row(type, data, off, out, outOff, n);
        }
    }
}
