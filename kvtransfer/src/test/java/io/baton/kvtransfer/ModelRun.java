package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.model.SequenceChunk;
import io.baton.engine.model.Transformer;

import java.util.ArrayList;
import java.util.List;

/** Runs a real model over paged KV the way a prefill or decode worker would, for the tests with fixture models. */
final class ModelRun {
    private ModelRun() {}

    /** Prefills {@code prompt} in chunks, telling each chunk's layers to {@code listener}; returns the last token's logits. */
    static float[] prefill(Transformer t, KvStorage kv, BlockTable table, int[] prompt, int chunk, OutgoingTransfer transfer) {
        float[] logits = null;
        for (int start = 0; start < prompt.length; start += chunk) {
            int n = Math.min(chunk, prompt.length - start);
            int[] toks = java.util.Arrays.copyOfRange(prompt, start, start + n);
            boolean last = start + n == prompt.length;
            SequenceChunk c = new SequenceChunk(toks, start, table, last ? n - 1 : n);
            Transformer.LayerListener l = transfer == null ? Transformer.LayerListener.NONE : LayerStreamer.of(transfer, start, n);
            logits = t.forward(List.of(c), kv, l);
        }
        return logits;
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /** Greedy decoding from position {@code start} with {@code first} as the next input; the logits of every step. */
    static List<float[]> greedy(Transformer t, KvStorage kv, BlockTable table, int start, int first, int steps) {
        List<float[]> out = new ArrayList<>();
        int tok = first;
        for (int i = 0; i < steps; i++) {
            float[] logits = t.forward(List.of(SequenceChunk.lastLogits(new int[] {tok}, start + i, table)), kv);
            out.add(logits);
            tok = argmax(logits);
        }
        return out;
    }

    /** max |a - b| / max |a|. */
    static double relError(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num = Math.max(num, Math.abs(a[i] - b[i]));
            den = Math.max(den, Math.abs(a[i]));
        }
        return num / den;
    }
}
