package io.baton.kvtransfer;

import io.baton.engine.kv.KvLayout;
import io.baton.kvtransfer.transport.InProcessKvTransport;
import io.baton.kvtransfer.transport.KvTransport;
import io.baton.kvtransfer.transport.TcpKvTransport;

/** A prefill side and a decode side joined by one kind of transport, for tests. */
final class Pair implements AutoCloseable {
    /** {@code TCP} receives payloads straight into the blocks; {@code TCP_BUFFERED} through the read buffer (the reference). */
    enum Kind { INPROC, TCP, TCP_BUFFERED }

    static final ModelFingerprint MODEL = ModelFingerprint.synthetic("transfer-test-model");

    final BlockOwner prefill, decode;
    final KvTransport senderTransport, receiverTransport;
    final KvSender sender;
    final KvReceiver receiver;

    Pair(Kind kind, KvLayout src, KvLayout dst, WireType wire) {
        this(kind, src, dst, wire, MODEL, MODEL);
    }

    Pair(Kind kind, KvLayout src, KvLayout dst, WireType wire, ModelFingerprint senderModel, ModelFingerprint receiverModel) {
        prefill = new BlockOwner(src, 64);
        decode = new BlockOwner(dst, 64);
        if (kind == Kind.INPROC) {
            senderTransport = receiverTransport = new InProcessKvTransport();
        } else {
            receiverTransport = TcpKvTransport.loopback(kind == Kind.TCP);
            senderTransport = TcpKvTransport.loopback(kind == Kind.TCP);
        }
        receiver = new KvReceiver(decode.storage, receiverModel, receiverTransport);
        sender = new KvSender(prefill.storage, senderModel, senderTransport, wire);
    }

    /** Both pools hold every block again. */
    boolean allFree() {
        return prefill.allFree() && decode.allFree();
    }

    @Override
    public void close() {
        sender.close();
        receiver.close();
        senderTransport.close();
        receiverTransport.close();
        prefill.close();
        decode.close();
    }
}
