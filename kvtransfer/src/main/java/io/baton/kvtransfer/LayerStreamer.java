package io.baton.kvtransfer;

import io.baton.engine.model.Transformer;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@link Transformer.LayerListener} of one forward step on a prefill worker: when the engine has stored layer L's
 * K/V rows for the step, each chunk of the step that belongs to a transfer has those rows sent at once (layer-wise
 * streaming: sending layer L overlaps computing layers L+1 ...). Build one per step with the step's chunks.
 */
public final class LayerStreamer implements Transformer.LayerListener {
    /** A chunk of the step: tokens {@code [firstToken, firstToken + count)} of {@code transfer}'s request. */
    public record Share(OutgoingTransfer transfer, int firstToken, int count) {
        public Share {
            transfer.checkRange(firstToken, count);
        }
    }

    private final List<Share> shares;

    public LayerStreamer(List<Share> shares) {
        this.shares = List.copyOf(shares);
    }

    /** A streamer for one chunk. */
    public static LayerStreamer of(OutgoingTransfer transfer, int firstToken, int count) {
        return new LayerStreamer(List.of(new Share(transfer, firstToken, count)));
    }

    /** Adds nothing to a step: no chunk of it is being transferred. */
    public static LayerStreamer none() {
        return new LayerStreamer(new ArrayList<>());
    }

    @Override
    public void layerDone(int layer) {
        for (Share s : shares) s.transfer().layerReady(layer, s.firstToken(), s.count());
    }
}
