package io.baton.engine.kv;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BlockHashTest {
    private static final int[] TOKENS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

    @Test
    void onlyFullBlocksAreHashed() {
        assertThat(BlockHash.hashes(TOKENS, 4)).hasSize(2);
        assertThat(BlockHash.hashes(Arrays.copyOf(TOKENS, 8), 4)).hasSize(2);
        assertThat(BlockHash.hashes(Arrays.copyOf(TOKENS, 3), 4)).isEmpty();
        assertThat(BlockHash.hashes(new int[0], 4)).isEmpty();
    }

    @Test
    void hashesAreChained() {
        BlockHash[] h = BlockHash.hashes(TOKENS, 4);
        assertThat(BlockHash.hashes(TOKENS.clone(), 4)).containsExactly(h); // deterministic
        int[] changedFirst = TOKENS.clone();
        changedFirst[0] = 99;
        BlockHash[] h1 = BlockHash.hashes(changedFirst, 4);
        assertThat(h1[0]).isNotEqualTo(h[0]);
        assertThat(h1[1]).isNotEqualTo(h[1]); // block 1's tokens are the same, its prefix is not
        int[] changedSecond = TOKENS.clone();
        changedSecond[5] = 99;
        BlockHash[] h2 = BlockHash.hashes(changedSecond, 4);
        assertThat(h2[0]).isEqualTo(h[0]);
        assertThat(h2[1]).isNotEqualTo(h[1]);
        // The same 4 tokens as a first block and as a second block hash differently.
        int[] repeated = {5, 6, 7, 8, 5, 6, 7, 8};
        BlockHash[] hr = BlockHash.hashes(repeated, 4);
        assertThat(hr[0]).isNotEqualTo(hr[1]);
    }

    @Test
    void saltSeparatesOtherwiseEqualPrefixes() {
        BlockHash[] plain = BlockHash.hashes(TOKENS, 4);
        BlockHash[] a = BlockHash.hashes(TOKENS, 4, new byte[] {1});
        BlockHash[] b = BlockHash.hashes(TOKENS, 4, new byte[] {2});
        assertThat(a[0]).isNotEqualTo(plain[0]).isNotEqualTo(b[0]);
        assertThat(a[1]).isNotEqualTo(plain[1]).isNotEqualTo(b[1]);
        assertThat(BlockHash.hashes(TOKENS, 4, new byte[0])).containsExactly(plain); // an empty salt is no salt
    }

    @Test
    void extendContinuesAChain() {
        int[] longer = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
        BlockHash[] first = BlockHash.hashes(Arrays.copyOf(longer, 5), 4);
        BlockHash[] all = BlockHash.extend(first, longer, 4, null, 3);
        assertThat(all).containsExactly(BlockHash.hashes(longer, 4));
        assertThat(BlockHash.extend(all, longer, 4, null, 2)).isSameAs(all);
        assertThatThrownBy(() -> BlockHash.extend(all, longer, 4, null, 4)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void encodingIsTheDocumentedOne() throws Exception {
        // Recompute the first two hashes from the byte format in BlockHash's javadoc, independently of its code.
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        ByteBuffer b0 = ByteBuffer.allocate(1 + 4 + 16 + 4).order(ByteOrder.LITTLE_ENDIAN);
        b0.put((byte) 0).putInt(4).putInt(1).putInt(2).putInt(3).putInt(4).putInt(0);
        ByteBuffer d0 = ByteBuffer.wrap(md.digest(b0.array()));
        BlockHash h0 = new BlockHash(d0.getLong(), d0.getLong());
        ByteBuffer b1 = ByteBuffer.allocate(1 + 16 + 4 + 16 + 4).order(ByteOrder.LITTLE_ENDIAN);
        b1.put((byte) 1).putLong(h0.hi()).putLong(h0.lo()).putInt(4).putInt(5).putInt(6).putInt(7).putInt(8).putInt(0);
        ByteBuffer d1 = ByteBuffer.wrap(md.digest(b1.array()));
        assertThat(BlockHash.hashes(TOKENS, 4)).containsExactly(h0, new BlockHash(d1.getLong(), d1.getLong()));
        assertThat(h0.toString()).hasSize(32).matches("[0-9a-f]+");
    }
}
