package io.baton.engine;

import io.baton.engine.chat.ChatTemplate;
import io.baton.engine.gguf.GgufException;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.model.ModelConfig;
import io.baton.engine.model.UnsupportedModelException;
import io.baton.engine.tokenizer.Tokenizer;
import io.baton.engine.model.ModelWeights;
import io.baton.engine.model.Transformer;
import io.baton.engine.parallel.WorkerPool;

import java.nio.file.Path;
import java.util.Optional;

/**
 * A loaded model: the mapped GGUF file, its configuration, weights and tokenizer, and the engine's own worker pool.
 * Closing it stops the pool and unmaps the file.
 */
public final class Model implements AutoCloseable {
    private final GgufFile gguf;
    private final ModelConfig config;
    private final WorkerPool pool;
    private final Transformer transformer;
    private final Tokenizer tokenizer;

    private Model(GgufFile gguf, ModelConfig config, WorkerPool pool, Transformer transformer, Tokenizer tokenizer) {
        this.gguf = gguf;
        this.config = config;
        this.pool = pool;
        this.transformer = transformer;
        this.tokenizer = tokenizer;
    }

    /**
     * Loads a model.
     *
     * @param threads size of this model's worker pool (the calling thread counts as one)
     * @throws GgufException for a missing or corrupt file
     * @throws io.baton.engine.model.UnsupportedModelException for an architecture, tensor type or shape Baton cannot run
     */
    public static Model load(Path path, int threads) {
        GgufFile g = GgufFile.open(path);
        try {
            ModelConfig c = ModelConfig.fromGguf(g);
            ModelWeights w = ModelWeights.load(g, c);
            Tokenizer tok = Tokenizer.fromGguf(g);
            if (tok.vocabSize() > c.vocabSize()) {
                throw new UnsupportedModelException("tokenizer has " + tok.vocabSize() + " tokens but the embedding only " + c.vocabSize());
            }
            WorkerPool pool = new WorkerPool(threads);
            return new Model(g, c, pool, new Transformer(c, w, pool), tok);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    public GgufFile gguf() {
        return gguf;
    }

    public ModelConfig config() {
        return config;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * The type of most weight matrices, as llama-bench reports a model's type ("Q8_0", "F16", ...): the type of the
     * first layer's FFN up projection.
     */
    public String weightType() {
        return gguf.tensorInfo("blk.0.ffn_up.weight").type().name();
    }

    /** The model's own chat template ({@code tokenizer.chat_template}), if it has one. */
    public Optional<ChatTemplate> chatTemplate() {
        return ChatTemplate.fromGguf(gguf);
    }

    public Transformer transformer() {
        return transformer;
    }

    /** A sequence with its own KV memory for up to {@code capacity} tokens (float32 KV). */
    public Sequence newSequence(int capacity) {
        if (capacity > config.contextLength()) throw new io.baton.engine.model.ContextOverflowException(capacity, config.contextLength());
        return new Sequence(transformer, capacity, io.baton.engine.kv.KvType.F32);
    }

    @Override
    public void close() {
        pool.close();
        gguf.close();
    }
}
