package io.baton.kvtransfer;

import io.baton.engine.gguf.GgufFile;
import io.baton.engine.gguf.GgufTensorInfo;
import io.baton.engine.model.ModelConfig;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Identifies the model whose KV a transfer carries: KV is only meaningful to a worker running the same weights, so a
 * receiver refuses KV whose fingerprint differs from its own.
 *
 * <p>SHA-256 over the architecture, every {@link ModelConfig} field that shapes the KV (dimensions, layers, heads, RoPE
 * and norm constants, vocabulary size) and, for each tensor sorted by name, its name, type, shape and the first and
 * last {@value #SAMPLE_BYTES} bytes of its data. Hashing samples instead of all the weights keeps it instant for large
 * files while still telling a fine-tune or a re-quantization of the same architecture apart.
 */
public final class ModelFingerprint {
    /** Bytes of a fingerprint. */
    public static final int BYTES = 32;
    /** Bytes hashed from each end of each tensor's data. */
    static final int SAMPLE_BYTES = 256;

    private final byte[] bytes;

    private ModelFingerprint(byte[] bytes) {
        this.bytes = bytes;
    }

    /** The fingerprint of a loaded GGUF model. */
    public static ModelFingerprint of(ModelConfig config, GgufFile gguf) {
        MessageDigest md = sha256();
        update(md, "baton-model-fingerprint-v1");
        update(md, configText(config));
        Map<String, GgufTensorInfo> sorted = new TreeMap<>(gguf.tensors());
        for (GgufTensorInfo t : sorted.values()) {
            update(md, t.name() + ":" + t.type() + ":" + Arrays.toString(t.dims()));
            MemorySegment data = gguf.tensorData(t);
            long n = data.byteSize(), head = Math.min(SAMPLE_BYTES, n);
            md.update(data.asSlice(0, head).toArray(ValueLayout.JAVA_BYTE));
            md.update(data.asSlice(n - head, head).toArray(ValueLayout.JAVA_BYTE));
        }
        return new ModelFingerprint(md.digest());
    }

    /**
     * A fingerprint for a model with no file: a configuration and a label (benchmarks and tests on synthetic shapes).
     * Two workers match when they use the same configuration and label.
     */
    public static ModelFingerprint synthetic(ModelConfig config, String label) {
        MessageDigest md = sha256();
        update(md, "baton-model-fingerprint-synthetic-v1");
        update(md, configText(config));
        update(md, label);
        return new ModelFingerprint(md.digest());
    }

    /** A fingerprint for a label alone (KV shapes without a model: the benchmark). */
    public static ModelFingerprint synthetic(String label) {
        MessageDigest md = sha256();
        update(md, "baton-model-fingerprint-label-v1");
        update(md, label);
        return new ModelFingerprint(md.digest());
    }

    /** The fingerprint with these {@value #BYTES} bytes (as read from a frame or a grant). */
    public static ModelFingerprint fromBytes(byte[] bytes) {
        if (bytes.length != BYTES) throw new IllegalArgumentException("a model fingerprint has " + BYTES + " bytes, got " + bytes.length);
        return new ModelFingerprint(bytes.clone());
    }

    private static String configText(ModelConfig c) {
        return String.join(",", List.of(c.architecture().name(), "dim=" + c.dim(), "layers=" + c.layers(), "heads=" + c.heads(),
                "kvHeads=" + c.kvHeads(), "headDim=" + c.headDim(), "valueDim=" + c.valueDim(), "ffn=" + c.ffnDim(),
                "vocab=" + c.vocabSize(), "ctx=" + c.contextLength(), "eps=" + Float.floatToIntBits(c.rmsEps()),
                "theta=" + Float.floatToIntBits(c.ropeTheta()), "ropeDim=" + c.ropeDim()));
    }

    private static void update(MessageDigest md, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        md.update(new byte[] {(byte) (b.length >>> 24), (byte) (b.length >>> 16), (byte) (b.length >>> 8), (byte) b.length});
        md.update(b);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e); // every JDK must have it (MessageDigest's javadoc)
        }
    }

    /** A copy of the bytes. */
    public byte[] toBytes() {
        return bytes.clone();
    }

    /** All {@value #BYTES} bytes in hex. */
    public String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelFingerprint f && Arrays.equals(bytes, f.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** The first 12 hex digits: enough to tell models apart in a log line. */
    @Override
    public String toString() {
        return hex().substring(0, 12);
    }
}
