package io.baton.kvtransfer;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.model.Transformer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Real models: a prompt prefilled in chunks streams its KV layer by layer (through the engine's LayerListener) over
 * TCP into a decode side's blocks, bit for bit; decoding there continues as on the prefill side (native wire), and with the
 * INT8 wire the greedy continuation of the trained fixture models stays the same (the logits error is printed).
 */
class ModelTransferTest {
    static final String PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.";
    static final int STEPS = 48;

    record Result(List<float[]> reference, List<float[]> received) { }

    /** Prefill on one side, transfer with {@code wire}, greedy on both sides from the same first token. */
    static Result run(String file, WireType wire, Pair.Kind kind) {
        try (Model m = Model.load(Fixtures.model(file), 1)) {
            Transformer tf = m.transformer();
            int[] prompt = m.tokenizer().encode(PROMPT, true, false);
            KvLayout layout = KvLayout.of(m.config());
            ModelFingerprint fp = ModelFingerprint.of(m.config(), m.gguf());
            try (Pair p = new Pair(kind, layout, layout, wire, fp, fp)) {
                int capacity = prompt.length + STEPS;
                BlockTable src = p.prefill.reserve("r", capacity), dst = p.decode.reserveShuffled("r", capacity);
                BlockOwner.Outcome decoded = p.decode.freeing("r", false), sent = p.prefill.freeing("r", false);
                KvGrant g = p.receiver.grant(dst, prompt.length, Duration.ofSeconds(30), decoded);
                OutgoingTransfer t = p.sender.start(g, src, sent);
                float[] first = ModelRun.prefill(tf, p.prefill.storage, src, prompt, 7, t);
                await().atMost(Duration.ofSeconds(30)).until(() -> decoded.done() && sent.done());
                assertThat(decoded.calls).containsExactly("succeeded");
                assertThat(sent.calls).containsExactly("succeeded");
                if (wire == null) {
                    for (int layer = 0; layer < layout.layers(); layer++) {
                        for (int pos = 0; pos < prompt.length; pos++) {
                            assertThat(p.decode.row(dst, layer, pos)).containsExactly(p.prefill.row(src, layer, pos));
                        }
                    }
                }
                int tok = ModelRun.argmax(first);
                List<float[]> ref = ModelRun.greedy(tf, p.prefill.storage, src, prompt.length, tok, STEPS);
                List<float[]> got = ModelRun.greedy(tf, p.decode.storage, dst, prompt.length, tok, STEPS);
                p.prefill.free("r");
                p.decode.free("r");
                assertThat(p.allFree()).isTrue();
                return new Result(ref, got);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "TinyStories-656K-F32.gguf"})
    void layerWiseStreamedKvDecodesAsOnThePrefillSide(String file) {
        // The rows arrive bit for bit (checked in run); the logits agree to float rounding only, because the Vector
        // API's reduceLanes may sum in another order once the JIT has compiled it (as the engine's own tests allow).
        Result r = run(file, null, Pair.Kind.TCP);
        for (int i = 0; i < STEPS; i++) {
            assertThat(ModelRun.argmax(r.received().get(i))).as("greedy token %d", i).isEqualTo(ModelRun.argmax(r.reference().get(i)));
            assertThat(ModelRun.relError(r.reference().get(i), r.received().get(i))).as("step %d", i).isLessThan(1e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "TinyStories-656K-F32.gguf"})
    void int8WireKeepsTheGreedyContinuation(String file) {
        Result r = run(file, WireType.INT8, Pair.Kind.INPROC);
        double max = 0, sum = 0;
        for (int i = 0; i < STEPS; i++) {
            assertThat(ModelRun.argmax(r.received().get(i))).as("greedy token %d", i).isEqualTo(ModelRun.argmax(r.reference().get(i)));
            double e = ModelRun.relError(r.reference().get(i), r.received().get(i));
            max = Math.max(max, e);
            sum += e;
        }
        System.out.printf("INT8 KV wire, %s: greedy continuation of %d tokens identical; logits relative error max %.3g, mean %.3g%n",
                file, STEPS, max, sum / STEPS);
        assertThat(max).isLessThan(0.05);
    }
}
