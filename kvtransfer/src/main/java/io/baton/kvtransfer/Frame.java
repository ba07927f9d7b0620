package io.baton.kvtransfer;

import io.baton.engine.kv.KvLayout;

import java.lang.foreign.MemorySegment;

/**
 * One message of the KV transfer protocol (docs/kv-transfer.md, "Frames"). Sender → receiver: {@link Hello},
 * {@link Data}, {@link Abort}. Receiver → sender: {@link Welcome}, {@link Ack}, {@link Abort}, {@link Error}.
 */
public sealed interface Frame {
    /** The transfer the frame is about; 0 for link-level frames (handshake, link errors). */
    long transferId();

    /** First frame of a link, from the sender: who I am. */
    record Hello(ModelFingerprint fingerprint, KvLayout layout) implements Frame {
        @Override
        public long transferId() {
            return 0;
        }
    }

    /** The receiver's answer to an acceptable {@link Hello}: who I am. */
    record Welcome(ModelFingerprint fingerprint, KvLayout layout) implements Frame {
        @Override
        public long transferId() {
            return 0;
        }
    }

    /**
     * Rows of one layer for tokens {@code [firstToken, firstToken + count)}: the K section then the V section, encoded as
     * {@code wire}. The segments are views (of the sender's KV storage, or of a receive buffer): valid only while the
     * frame is being handled.
     */
    record Data(long transferId, int layer, int firstToken, int count, WireType wire, MemorySegment k, MemorySegment v)
            implements Frame {
        public long payloadBytes() {
            return k.byteSize() + v.byteSize();
        }
    }

    /** From the receiver: every row of the transfer has landed. */
    record Ack(long transferId) implements Frame { }

    /** Either way: this side gave up on the transfer (cancelled, lease expired, shutting down). */
    record Abort(long transferId, FailureCode code, String message) implements Frame { }

    /** Either way: something was wrong (refused handshake, bad frame); transfer id 0 means the whole link. */
    record Error(long transferId, FailureCode code, String message) implements Frame { }
}
