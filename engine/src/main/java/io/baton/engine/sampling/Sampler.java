package io.baton.engine.sampling;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Picks the next token of one request from a row of logits. One sampler per request: it owns the request's random
 * generator, seeded from {@link SamplingParams#seed()}, so the same seed and the same logits give the same tokens.
 *
 * <p>The steps, in vLLM's order (temperature before the filters, as vLLM's v0 sampler and its
 * {@code apply_top_k_top_p}), defined exactly so that this sampler and {@code ReferenceSampler} (a plain full sort, in
 * the tests) pick the same token bit for bit:
 * <ol>
 *   <li>penalties, in place ({@link Penalties});</li>
 *   <li>temperature 0 (or top-k 1): the argmax, ties to the lowest id; no random number is drawn;</li>
 *   <li>weights {@code w_i = exp((l_i - max l) × (1/T))} ({@link SamplingKernels#weight}, float); tokens ranked by
 *       logit, ties to the lower id;</li>
 *   <li>top-k: the k best;</li>
 *   <li>top-p: with {@code Z} the sum of the top-k weights (double, in id order), walk the ranking adding
 *       {@code w_i / Z} and keep tokens up to and including the one where the sum reaches p: the same set as vLLM's
 *       mask "ascending cumulative sum ≤ 1 - p" and llama.cpp's top-p;</li>
 *   <li>min-p: keep tokens with {@code w_i ≥ minP} (the best token's weight is 1);</li>
 *   <li>draw: {@code u} uniform in [0, 1); walk the kept tokens in id order adding weights (double); the first whose
 *       running sum exceeds {@code u × (sum of kept weights)} is the token.</li>
 * </ol>
 * Nothing sorts the vocabulary. Top-k keeps a bounded heap of k ids (O(V log k)). Top-p without top-k first gathers
 * the tokens above a logit cut-off (a prefix of the ranking), heapifies only those and pops them in rank order until
 * p is reached, lowering the cut-off only if that prefix holds too little mass. Plain sampling and min-p are single
 * passes. The whole-row passes (argmax, weights) are vectorized in {@link SamplingKernels}.
 *
 * <p>Not thread-safe (one request is sampled by one thread at a time). Scratch arrays are per thread, so a worker
 * thread that samples many requests allocates them once.
 */
public final class Sampler {
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    private static final SecureRandom SEEDS = new SecureRandom();
    /** First cut-off of top-p's candidates: tokens 1000x less likely than the best rarely matter. */
    private static final double FIRST_CUTOFF = 1e-3;

    private final SamplingParams params;
    private final long seed;
    private final RandomGenerator random;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.seed = params.seed() == SamplingParams.RANDOM_SEED ? SEEDS.nextLong() & Long.MAX_VALUE : params.seed();
        // L64X128MixRandom: the JDK's recommended general-purpose algorithm, fully specified, so a seed replays the
        // same stream on every JDK.
        this.random = RandomGeneratorFactory.<RandomGenerator>of("L64X128MixRandom").create(seed);
    }

    public SamplingParams params() {
        return params;
    }

    /** The seed in use: the request's, or the one picked for it (report it to replay the request). */
    public long seed() {
        return seed;
    }

    /**
     * Samples one token.
     *
     * @param logits    the model's output row; only the first {@code vocabSize} entries are read. Penalties are written
     *                  into it, so compute logprobs for the client before calling this.
     * @param vocabSize number of valid logits
     * @param history   token counts of the prompt and the output so far, for the penalties; may be null without them
     * @throws IllegalArgumentException if a logit is NaN, all are -infinity, or sizes do not fit
     */
    public int sample(float[] logits, int vocabSize, TokenCounts history) {
        if (vocabSize < 1 || vocabSize > logits.length) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " does not fit a logits row of " + logits.length);
        }
        if (history == null && Penalties.active(params)) throw new IllegalArgumentException("penalties need the token history");
        Penalties.apply(logits, vocabSize, history, params);
        int best = SamplingKernels.argmax(logits, vocabSize);
        int k = params.topK() > 0 ? Math.min(params.topK(), vocabSize) : vocabSize;
        if (params.isGreedy() || k == 1) return best;

        Scratch s = SCRATCH.get().ensure(vocabSize);
        float[] w = s.weights;
        float max = logits[best], invTemperature = 1f / params.temperature();
        int kept;
        if (k < vocabSize) {
            kept = topK(logits, vocabSize, k, s.ids); // ranked, best first
            // Only the candidates need weights; the scalar twin gives the kernel's exact values.
            for (int j = 0; j < kept; j++) w[s.ids[j]] = SamplingKernels.weight(logits[s.ids[j]], max, invTemperature);
            if (params.topP() < 1f) kept = topPOfRanked(w, s.ids, kept, sumInIdOrder(w, s.ids, kept, s.sorted));
        } else {
            SamplingKernels.weights(logits, vocabSize, max, invTemperature, w);
            if (params.topP() == 1f && params.minP() == 0f) return drawFromAll(w, vocabSize);
            if (params.topP() == 1f) { // min-p alone: one filtering pass, already in id order
                kept = 0;
                for (int i = 0; i < vocabSize; i++) if (w[i] >= params.minP()) s.ids[kept++] = i;
                return draw(w, s.ids, kept);
            }
            kept = topPOverVocabulary(logits, vocabSize, max, w, s);
        }
        if (params.minP() > 0f) kept = minP(w, s.ids, kept);
        Arrays.sort(s.ids, 0, kept); // the draw walks the kept tokens in id order
        return draw(w, s.ids, kept);
    }

    /** True when token a ranks before token b: higher logit, or equal logit and lower id. */
    static boolean ranksBefore(float[] logits, int a, int b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    }

    /**
     * The k best tokens, best first, into {@code ids[0..k)}: a min-heap (worst at the root) of k ids over one pass of
     * the vocabulary, then a heap sort.
     */
    private static int topK(float[] logits, int vocabSize, int k, int[] ids) {
        int size = 0;
        for (; size < k; size++) {
            ids[size] = size;
            siftUpWorst(logits, ids, size);
        }
        float worst = logits[ids[0]];
        for (int i = k; i < vocabSize; i++) {
            // Most tokens fall below the worst kept one: one comparison, no heap work. A later token that equals it
            // ranks after it (higher id), so only a strictly larger logit enters.
            if (logits[i] > worst) {
                ids[0] = i;
                siftDownWorst(logits, ids, 0, size);
                worst = logits[ids[0]];
            }
        }
        for (int n = size; n > 1; n--) { // heap sort: the worst goes to the end each time
            swap(ids, 0, n - 1);
            siftDownWorst(logits, ids, 0, n - 1);
        }
        return size;
    }

    private static void siftUpWorst(float[] logits, int[] heap, int at) {
        while (at > 0) {
            int parent = (at - 1) >>> 1;
            if (!ranksBefore(logits, heap[parent], heap[at])) break; // the parent ranks after: heap order holds
            swap(heap, parent, at);
            at = parent;
        }
    }

    private static void siftDownWorst(float[] logits, int[] heap, int at, int size) {
        while (true) {
            int l = 2 * at + 1, r = l + 1, worst = at;
            if (l < size && ranksBefore(logits, heap[worst], heap[l])) worst = l;
            if (r < size && ranksBefore(logits, heap[worst], heap[r])) worst = r;
            if (worst == at) return;
            swap(heap, at, worst);
            at = worst;
        }
    }

    private static void siftDownBest(float[] logits, int[] heap, int at, int size) {
        while (true) {
            int l = 2 * at + 1, r = l + 1, best = at;
            if (l < size && ranksBefore(logits, heap[l], heap[best])) best = l;
            if (r < size && ranksBefore(logits, heap[r], heap[best])) best = r;
            if (best == at) return;
            swap(heap, at, best);
            at = best;
        }
    }

    /** Sum of the weights of {@code ids[0..n)} added in increasing id order (the order the definition fixes). */
    private static double sumInIdOrder(float[] w, int[] ids, int n, int[] scratch) {
        System.arraycopy(ids, 0, scratch, 0, n);
        Arrays.sort(scratch, 0, n);
        double z = 0;
        for (int j = 0; j < n; j++) z += w[scratch[j]];
        return z;
    }

    /** Top-p over ranked {@code ids[0..n)}: how many to keep. */
    private int topPOfRanked(float[] w, int[] ids, int n, double z) {
        double cumulative = 0, p = params.topP();
        for (int j = 0; j < n; j++) {
            cumulative += w[ids[j]] / z;
            if (cumulative >= p) return j + 1;
        }
        return n;
    }

    /**
     * Top-p over the whole vocabulary without sorting it. The tokens whose logit is at least a cut-off (a probability
     * ratio to the best token of 1e-3 at first) are a prefix of the ranking. When they hold at least the mass p, they
     * are heapified (best at the root) and popped in rank order until the cumulative probability reaches p; otherwise,
     * or if rounding lets them all pop first, the cut-off is lowered (the ratio divided by 16) and the walk redone. The
     * last cut-off is -infinity, every token, so the result is always the one the full ranking gives. Kept ids end in
     * {@code s.ids[0..)}, ranked.
     */
    private int topPOverVocabulary(float[] logits, int vocabSize, float max, float[] w, Scratch s) {
        double z = 0;
        for (int i = 0; i < vocabSize; i++) z += w[i];
        double p = params.topP();
        for (double ratio = FIRST_CUTOFF; ; ratio /= 16) {
            double cutoff = ratio < 1e-40 ? Double.NEGATIVE_INFINITY : max + params.temperature() * Math.log(ratio);
            int[] heap = s.heap;
            int size = 0;
            double mass = 0;
            for (int i = 0; i < vocabSize; i++) {
                if (logits[i] >= cutoff) {
                    heap[size++] = i;
                    mass += w[i];
                }
            }
            boolean everyToken = size == vocabSize;
            if (!everyToken && mass < p * z * (1 - 1e-6)) continue; // clearly too little: no walk needed to know
            for (int i = size / 2 - 1; i >= 0; i--) siftDownBest(logits, heap, i, size);
            double cumulative = 0;
            int kept = 0;
            while (size > 0) {
                int token = heap[0];
                heap[0] = heap[--size];
                siftDownBest(logits, heap, 0, size);
                s.ids[kept++] = token;
                cumulative += w[token] / z;
                if (cumulative >= p) return kept;
            }
            if (everyToken) return kept;
        }
    }

    /** Min-p: keeps, in place and in order, the ids whose weight is at least minP (the best token's weight is 1). */
    private int minP(float[] w, int[] ids, int n) {
        float threshold = params.minP();
        int kept = 0;
        for (int j = 0; j < n; j++) {
            if (w[ids[j]] >= threshold) ids[kept++] = ids[j];
        }
        return kept;
    }

    /**
     * Draws among {@code ids[0..n)} (in id order) with probability proportional to their weights. If rounding lets the
     * running sum end at the target, the last token of non-zero weight is taken (never a masked one).
     */
    private int draw(float[] w, int[] ids, int n) {
        double total = 0;
        for (int j = 0; j < n; j++) total += w[ids[j]];
        double target = random.nextDouble() * total, running = 0;
        int last = ids[0];
        for (int j = 0; j < n; j++) {
            if (w[ids[j]] == 0f) continue;
            running += w[ids[j]];
            last = ids[j];
            if (running > target) return last;
        }
        return last;
    }

    /** {@link #draw} over every token, without an id list. */
    private int drawFromAll(float[] w, int n) {
        double total = 0;
        for (int i = 0; i < n; i++) total += w[i];
        double target = random.nextDouble() * total, running = 0;
        int last = 0;
        for (int i = 0; i < n; i++) {
            if (w[i] == 0f) continue;
            running += w[i];
            last = i;
            if (running > target) return i;
        }
        return last;
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    /** Per-thread work arrays, grown to the largest vocabulary seen. */
    private static final class Scratch {
        int[] ids = new int[0];
        int[] sorted = new int[0];
        int[] heap = new int[0];
        float[] weights = new float[0];

        Scratch ensure(int vocabSize) {
            if (ids.length < vocabSize) {
                ids = new int[vocabSize];
                sorted = new int[vocabSize];
                heap = new int[vocabSize];
                weights = new float[vocabSize];
            }
            return this;
        }
    }
}
