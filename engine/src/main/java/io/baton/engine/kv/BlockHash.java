package io.baton.engine.kv;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The identity of a full block's content for prefix caching: SHA-256 of (parent block's hash, this block's token ids,
 * optional salt), truncated to 128 bits. Chaining the parent makes the hash name the whole prefix, not just 16 tokens,
 * so equal hashes mean equal KV (the same tokens at the same positions after the same history). As vLLM's
 * {@code hash_block_tokens} (vllm/v1/core/kv_cache_utils.py) with its default sha256.
 *
 * <p>Collisions: a cryptographic hash cannot be steered, so a user cannot craft a prompt whose block aliases another
 * user's (the reason vLLM moved off Python's {@code hash()}). By the birthday bound, 2^40 distinct blocks ever cached
 * (a trillion; years of a busy worker) collide with probability about 2^80 / 2^129 = 2^-49.
 *
 * <p>Encoding hashed (all little-endian): a byte 1 and the parent's 16 bytes, or a byte 0 for the first block; the
 * token count as an int; the tokens as ints; the salt's length and bytes (salt only on the first block, like vLLM's
 * {@code cache_salt}; an empty salt is the same as none). Every field is length-prefixed or fixed, so two different inputs never encode alike.
 *
 * @param hi the first 8 bytes of the digest, big-endian
 * @param lo the next 8 bytes
 */
public record BlockHash(long hi, long lo) {

    /** Hash of one block: {@code tokens[from .. from + count)} after {@code parent} (null for the first block). */
    public static BlockHash of(BlockHash parent, int[] tokens, int from, int count, byte[] salt) {
        return of(sha256(), parent, tokens, from, count, salt);
    }

    /** The chained hashes of every FULL block of {@code tokens}; a partly filled last block has none. */
    public static BlockHash[] hashes(int[] tokens, int blockSize) {
        return extend(new BlockHash[0], tokens, blockSize, null, tokens.length / blockSize);
    }

    /** As {@link #hashes(int[], int)}, with {@code salt} mixed into the first block (and so into every later one). */
    public static BlockHash[] hashes(int[] tokens, int blockSize, byte[] salt) {
        return extend(new BlockHash[0], tokens, blockSize, salt, tokens.length / blockSize);
    }

    /**
     * Returns {@code known} extended with the hashes of blocks {@code known.length .. upTo - 1} of {@code tokens} (a
     * request's chain grows as its blocks fill; earlier entries are kept, not recomputed).
     */
    public static BlockHash[] extend(BlockHash[] known, int[] tokens, int blockSize, byte[] salt, int upTo) {
        if (blockSize <= 0) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        if (upTo < 0 || (long) upTo * blockSize > tokens.length) {
            throw new IllegalArgumentException(upTo + " full blocks of " + blockSize + " need more than " + tokens.length + " tokens");
        }
        if (upTo <= known.length) return known;
        BlockHash[] out = Arrays.copyOf(known, upTo);
        MessageDigest md = sha256();
        for (int b = known.length; b < upTo; b++) {
            out[b] = of(md, b == 0 ? null : out[b - 1], tokens, b * blockSize, blockSize, b == 0 ? salt : null);
        }
        return out;
    }

    private static BlockHash of(MessageDigest md, BlockHash parent, int[] tokens, int from, int count, byte[] salt) {
        int saltLen = salt == null ? 0 : salt.length;
        ByteBuffer buf = ByteBuffer.allocate(1 + 16 + 4 + 4 * count + 4 + saltLen).order(ByteOrder.LITTLE_ENDIAN);
        if (parent == null) {
            buf.put((byte) 0);
        } else {
            buf.put((byte) 1).putLong(parent.hi).putLong(parent.lo);
        }
        buf.putInt(count);
        for (int i = 0; i < count; i++) buf.putInt(tokens[from + i]);
        buf.putInt(saltLen);
        if (salt != null) buf.put(salt);
        md.reset();
        md.update(buf.array(), 0, buf.position());
        ByteBuffer d = ByteBuffer.wrap(md.digest());
        return new BlockHash(d.getLong(), d.getLong());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime must provide SHA-256", e);
        }
    }

    /** 32 hex digits. */
    @Override
    public String toString() {
        return HexFormat.of().toHexDigits(hi) + HexFormat.of().toHexDigits(lo);
    }
}
