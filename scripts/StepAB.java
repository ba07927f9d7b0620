import io.baton.engine.Model;
import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.kv.KvType;
import io.baton.engine.model.SequenceChunk;

import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A/B of an engine switch within one JVM: batched decode steps (as `baton bench engine --batch B` runs them) with a
 * static boolean field set false for two steps, true for two, and so on, timing each step. On a shared machine whose
 * speed drifts by a quarter between runs, alternating step by step cancels the drift that separate runs cannot.
 *
 *   scripts/step-ab MODEL BATCH STEPS CLASS#FIELD      e.g. io.baton.engine.tensor.Prefetch#enabled
 *
 * Prints tokens/s with the field false and true and their ratio (steps 0-7 are left out as warm-up).
 */
public class StepAB {
    public static void main(String[] args) throws Exception {
        if (args.length != 4) throw new IllegalArgumentException("usage: MODEL BATCH STEPS CLASS#FIELD");
        Path model = Path.of(args[0]);
        int batch = Integer.parseInt(args[1]), steps = Integer.parseInt(args[2]), prompt = 16;
        String[] cf = args[3].split("#");
        Field field = Class.forName(cf[0]).getDeclaredField(cf[1]);
        field.setAccessible(true);
        Random random = new Random(1);
        try (Model m = Model.load(model, 2)) {
            int vocab = m.config().vocabSize();
            KvLayout layout = KvLayout.of(m.config(), KvType.F32, KvLayout.DEFAULT_BLOCK_SIZE);
            int perSeq = layout.blocksForTokens(prompt + steps);
            try (KvStorage kv = KvStorage.allocate(layout, batch * perSeq)) {
                BlockTable[] tables = new BlockTable[batch];
                List<SequenceChunk> first = new ArrayList<>();
                for (int b = 0; b < batch; b++) {
                    int[] ids = new int[perSeq];
                    for (int i = 0; i < perSeq; i++) ids[i] = b * perSeq + i;
                    tables[b] = new BlockTable(ids, layout.blockSize());
                    first.add(SequenceChunk.lastLogits(random.ints(prompt, 0, vocab).toArray(), 0, tables[b]));
                }
                m.transformer().forward(first, kv);
                long[] nanos = new long[2];
                int[] count = new int[2];
                for (int s = 0; s < steps; s++) {
                    int mode = (s / 2) % 2; // false, false, true, true, ...: neither setting always goes first
                    field.setBoolean(null, mode == 1);
                    List<SequenceChunk> step = new ArrayList<>(batch);
                    for (int b = 0; b < batch; b++) {
                        step.add(SequenceChunk.lastLogits(new int[] {random.nextInt(vocab)}, prompt + s, tables[b]));
                    }
                    long t0 = System.nanoTime();
                    m.transformer().forward(step, kv);
                    long dt = System.nanoTime() - t0;
                    if (s >= 8) {
                        nanos[mode] += dt;
                        count[mode]++;
                    }
                }
                double off = batch * count[0] / (nanos[0] / 1e9), on = batch * count[1] / (nanos[1] / 1e9);
                System.out.printf("batch%d %s: false %.1f tok/s, true %.1f tok/s, true/false %.3f%n", batch, args[3], off, on, on / off);
            }
        }
    }
}
