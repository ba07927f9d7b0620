package io.baton.engine.kv;

import io.baton.engine.model.ModelConfig;

/**
 * The shape of one KV block: what a model needs per token and how many tokens a block holds.
 *
 * <p>A token's K row is {@code kvHeads × headDim} elements (head-major inside the row, as the model's K projection
 * produces them, llama.cpp's K cache and {@link io.baton.engine.model.KvCache} store them), its V row
 * {@code kvHeads × valueDim}. {@link KvStorage} keeps a block's K rows in slot order, so attention reads a block's K
 * exactly like a run of cache rows, and its V rows likewise. See docs/kv-cache.md.
 *
 * @param layers    transformer layers (each has its own K and V)
 * @param kvHeads   key/value heads (GQA: fewer than query heads)
 * @param headDim   width of one K head
 * @param valueDim  width of one V head (equal to headDim for every supported family, kept apart as GGUF does)
 * @param blockSize tokens per block (vLLM's default, 16, is {@link #DEFAULT_BLOCK_SIZE})
 * @param type      storage type of each element
 */
public record KvLayout(int layers, int kvHeads, int headDim, int valueDim, int blockSize, KvType type) {

    /** vLLM's default block size: small enough that a request wastes under one block, large enough to amortise lookups. */
    public static final int DEFAULT_BLOCK_SIZE = 16;

    /** F32: kernels compute in float, so F32 needs no conversion on the attention path (docs/kv-cache.md, "Default type"). */
    public static final KvType DEFAULT_TYPE = KvType.F32;

    /** Upper bound on block size: beyond this a partly filled last block wastes more than paging saves. */
    public static final int MAX_BLOCK_SIZE = 1024;

    public KvLayout {
        if (layers <= 0 || kvHeads <= 0 || headDim <= 0 || valueDim <= 0) {
            throw new IllegalArgumentException("KV layout needs positive dimensions, got layers=" + layers + " kvHeads=" + kvHeads
                    + " headDim=" + headDim + " valueDim=" + valueDim);
        }
        if (blockSize <= 0 || blockSize > MAX_BLOCK_SIZE) {
            throw new IllegalArgumentException("block size must be in 1.." + MAX_BLOCK_SIZE + ", got " + blockSize);
        }
        if (type == null) throw new IllegalArgumentException("KV type is required");
        if ((long) layers * blockSize * ((long) kvHeads * headDim + (long) kvHeads * valueDim) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("one KV block would exceed 2^31 elements: " + layers + " layers x " + blockSize + " tokens");
        }
    }

    /** The layout for a model's shape. */
    public static KvLayout of(ModelConfig config, KvType type, int blockSize) {
        return new KvLayout(config.layers(), config.kvHeads(), config.headDim(), config.valueDim(), blockSize, type);
    }

    /** The layout for a model's shape with the default type and block size. */
    public static KvLayout of(ModelConfig config) {
        return of(config, DEFAULT_TYPE, DEFAULT_BLOCK_SIZE);
    }

    /** Elements in one token's K row of one layer: all KV heads side by side. */
    public int kRowWidth() {
        return kvHeads * headDim;
    }

    /** Elements in one token's V row of one layer. */
    public int vRowWidth() {
        return kvHeads * valueDim;
    }

    /** Bytes one token's K and V take in one layer. */
    public long bytesPerTokenPerLayer() {
        return (long) (kRowWidth() + vRowWidth()) * type.bytes;
    }

    /** Bytes one token's K and V take over all layers. */
    public long bytesPerToken() {
        return layers * bytesPerTokenPerLayer();
    }

    /** Bytes of one block in one layer (its K rows and its V rows). */
    public long blockBytesPerLayer() {
        return blockSize * bytesPerTokenPerLayer();
    }

    /** Bytes of one block over all layers: what one block id costs. */
    public long bytesPerBlock() {
        return layers * blockBytesPerLayer();
    }

    /** Blocks needed to hold {@code tokens} tokens (the last one possibly partly filled). */
    public int blocksForTokens(int tokens) {
        if (tokens < 0) throw new IllegalArgumentException("negative token count " + tokens);
        return (tokens + blockSize - 1) / blockSize;
    }

    /** How many whole blocks fit in a memory budget of {@code bytes}. */
    public int blocksForBudget(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative KV budget " + bytes);
        return (int) Math.min(Integer.MAX_VALUE, bytes / bytesPerBlock());
    }
}
