package io.baton.engine.model;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.Reference;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine against llama.cpp (see ../shared/reference/README.md). Baton keeps activations in float32 and dequantizes
 * weights exactly, so quantized models are compared with {@code <model>.f32-expanded.json}; float32 models with
 * {@code <model>.json}. Prompt tokens come from the reference here (tokenizers are tested on their own).
 */
class ReferenceLogitsTest {
    /** Relative L2 error allowed on last-position logits (issue: ≤ 1e-4). */
    static final double MAX_REL_L2 = 1e-4;
    /** Top-1 must agree where the reference's top-2 gap exceeds this. */
    static final float MARGIN = 1e-3f;

    @TestFactory
    Stream<DynamicTest> matchesLlamaCpp() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Reference ref : Reference.all()) {
            boolean quantized = !ref.modelFile().contains("F32") && !ref.modelFile().equals("stories260K.gguf");
            if (quantized != ref.expanded()) continue; // the flavour that matches float32 activations
            tests.add(DynamicTest.dynamicTest(ref.file(), () -> check(ref)));
        }
        assertThat(tests).hasSizeGreaterThanOrEqualTo(12);
        return tests.stream();
    }

    private static void check(Reference ref) {
        try (Model m = Model.load(Fixtures.model(ref.modelFile()), 2)) {
            int vocab = m.config().vocabSize();
            for (Reference.Prompt p : ref.prompts()) {
                if (p.error() != null) continue;
                try (io.baton.engine.Sequence seq = m.newSequence(p.tokens().length + p.generated().length)) {
                float[] logits = seq.forward(p.tokens(), true);
                int n = p.tokens().length;
                for (int pos = 0; pos < n; pos++) {
                    float[] tl = p.top10Logits()[pos];
                    if (tl[0] - tl[1] > MARGIN) {
                        assertThat(argmax(logits, pos * vocab, vocab)).as("%s %s top-1 at position %d", ref.file(), p.id(), pos)
                                .isEqualTo(p.top10Ids()[pos][0]);
                    }
                }
                if (p.lastLogits() != null) {
                    assertThat(relL2(logits, (n - 1) * vocab, p.lastLogits())).as("%s %s last logits rel L2", ref.file(), p.id())
                            .isLessThanOrEqualTo(MAX_REL_L2);
                }
                // greedy continuation, up to the first near-tie
                int[] gen = p.generated();
                float[] step = java.util.Arrays.copyOfRange(logits, (n - 1) * vocab, n * vocab);
                for (int i = 0; i < gen.length; i++) {
                    if (p.margins()[i] <= MARGIN) break;
                    assertThat(argmax(step, 0, vocab)).as("%s %s greedy step %d", ref.file(), p.id(), i).isEqualTo(gen[i]);
                    if (i + 1 < gen.length) step = seq.forward(new int[] {gen[i]}, false);
                }
                }
            }
        }
    }

    static int argmax(float[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
        return best;
    }

    static double relL2(float[] a, int off, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = a[off + i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }
}
