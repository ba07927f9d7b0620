package io.baton.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteOrder;

/**
 * Vector shapes used by the kernels.
 *
 * <p>The quantized kernels work on 8 floats at a time ({@link #F8}: 256 bits, AVX2), because their blocks are made of
 * groups of 8, 16 and 32 elements and a 64-bit load of 8 bytes widened to 8 floats ({@code castShape}) is the fastest
 * byte-to-float path measured. The float32 kernels (the prefill micro-kernel, dot, axpy, F32 rows) and the Q8_0 and
 * BF16 decode kernels use {@link #F}, the widest shape the CPU has, but at least 256 and at most 512 bits: 512 bits
 * nearly doubled prefill GFLOP/s on an AVX-512 machine, and made Q8_0 decode about 25% faster. The system property {@code baton.vector.bits} (256 or 512) overrides it, e.g. to test the AVX2 path on an
 * AVX-512 machine ({@code -XX:UseAVX=2} does the same by hiding AVX-512 from the JIT).
 *
 * <p>Rules the kernels follow, learned from the JIT (C2) on JDK 25:
 * <ul>
 *   <li>no vector passes through a method that might not be inlined: the JIT boxes it (an allocation per vector),
 *   which made early kernels 4 to 40 times slower. Vector API calls already nest deeply, so even a small helper
 *   around them can hit the inlining depth limit; kernels spell their vector expressions out;</li>
 *   <li>a method holds a bounded amount of vector code (one K-quant super-block, say): past the JIT's inlining node
 *   budget, calls stop being inlined and vectors get boxed again. Per-block methods return a float;</li>
 *   <li>bytes are shifted in 16-bit lanes ({@code reinterpretAsShorts().lanewise(LSHR, s).reinterpretAsBytes()},
 *   then a mask), since x86 has no byte shift and the JIT's emulation of one is slow.</li>
 * </ul>
 */
final class Vec {
    private Vec() {}

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;

    static final VectorSpecies<Float> F = wideSpecies();
    /** Lanes of {@link #F}: 8 or 16. */
    static final int L = F.length();
    /** Bytes, 16-bit values and ints as many as {@link #F} has lanes (for kernels written for both widths). */
    static final VectorSpecies<Byte> BL = L == 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    static final VectorSpecies<Short> SL = L == 16 ? ShortVector.SPECIES_256 : ShortVector.SPECIES_128;
    static final VectorSpecies<Integer> IL = L == 16 ? IntVector.SPECIES_512 : IntVector.SPECIES_256;

    private static VectorSpecies<Float> wideSpecies() {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int bits = Integer.getInteger("baton.vector.bits", Math.max(256, Math.min(512, preferred)));
        if (bits != 256 && bits != 512) throw new IllegalArgumentException("baton.vector.bits must be 256 or 512, got " + bits);
        return bits == 512 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    }
}
