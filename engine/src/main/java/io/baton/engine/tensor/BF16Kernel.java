package io.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.baton.engine.tensor.Vec.F;
import static io.baton.engine.tensor.Vec.F8;
import static io.baton.engine.tensor.Vec.I8;
import static io.baton.engine.tensor.Vec.IL;
import static io.baton.engine.tensor.Vec.L;
import static io.baton.engine.tensor.Vec.LE;
import static io.baton.engine.tensor.Vec.S8;
import static io.baton.engine.tensor.Vec.SL;

/** bfloat16 weights: halves widened to ints and shifted into the upper 16 bits are exact floats. */
final class BF16Kernel extends RowKernel {

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            long o = off + 2L * i;
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(SL, w, o, LE).castShape(IL, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(SL, w, o + 2L * L, LE).castShape(IL, 0);
            a0 = h0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = h1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += Dequant.bf16(w, off + 2L * i) * x[xOff + i];
        return s;
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S8, w, off + 2L * i, LE).castShape(I8, 0);
            h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = Dequant.bf16(w, off + 2L * i);
    }
}
