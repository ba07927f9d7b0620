package io.baton.rpc;

import io.baton.engine.kv.BlockHash;
import io.baton.engine.kv.KvEvent;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.SamplingParams;
import io.baton.engine.sampling.TokenLogprob;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.rpc.proto.AllCleared;
import io.baton.rpc.proto.BlocksRemoved;
import io.baton.rpc.proto.BlocksStored;
import io.baton.rpc.proto.KvEventMessage;
import io.baton.rpc.proto.SubmitRequest;
import io.baton.rpc.proto.Token;
import io.baton.worker.GenerationRequest;
import io.baton.worker.scheduler.Role;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/** Conversions between Baton's types and the control plane's messages (worker.proto), both ways. */
final class Wire {
    private Wire() {}

    static SubmitRequest request(GenerationRequest r) {
        SubmitRequest.Builder b = SubmitRequest.newBuilder().setId(r.id()).setParams(params(r.params()));
        for (int t : r.promptTokens()) b.addPromptTokens(t);
        return b.build();
    }

    /**
     * @throws IllegalArgumentException for an empty id or prompt, or parameters out of range (as {@link SamplingParams})
     */
    static GenerationRequest request(SubmitRequest m) {
        int[] prompt = new int[m.getPromptTokensCount()];
        for (int i = 0; i < prompt.length; i++) prompt[i] = m.getPromptTokens(i);
        return new GenerationRequest(m.getId(), prompt, params(m.getParams()));
    }

    static io.baton.rpc.proto.SamplingParams params(SamplingParams p) {
        return io.baton.rpc.proto.SamplingParams.newBuilder().setTemperature(p.temperature()).setTopK(p.topK()).setTopP(p.topP())
                .setMinP(p.minP()).setSeed(p.seed()).setRepetitionPenalty(p.repetitionPenalty())
                .setFrequencyPenalty(p.frequencyPenalty()).setPresencePenalty(p.presencePenalty()).setMaxTokens(p.maxTokens())
                .addAllStop(p.stop()).addAllStopTokenIds(p.stopTokenIds()).setIgnoreEos(p.ignoreEos())
                .setLogprobs(p.logprobs()).setTopLogprobs(p.topLogprobs()).build();
    }

    static SamplingParams params(io.baton.rpc.proto.SamplingParams m) {
        return SamplingParams.builder().temperature(m.getTemperature()).topK(m.getTopK()).topP(m.getTopP()).minP(m.getMinP())
                .seed(m.getSeed()).repetitionPenalty(m.getRepetitionPenalty()).frequencyPenalty(m.getFrequencyPenalty())
                .presencePenalty(m.getPresencePenalty()).maxTokens(m.getMaxTokens()).stop(List.copyOf(m.getStopList()))
                .stopTokenIds(new HashSet<>(m.getStopTokenIdsList())).ignoreEos(m.getIgnoreEos())
                .logprobs(m.getLogprobs()).topLogprobs(m.getTopLogprobs()).build();
    }

    /** A generated token for the wire, with its log-probabilities when there are some. */
    static Token token(int token, String text, TokenLogprobs lp) {
        Token.Builder b = Token.newBuilder().setToken(token).setText(text);
        if (lp != null) {
            io.baton.rpc.proto.TokenLogprobs.Builder lb = io.baton.rpc.proto.TokenLogprobs.newBuilder().setLogprob(lp.logprob());
            for (TokenLogprob t : lp.top()) lb.addTopTokens(t.token()).addTopLogprobs(t.logprob());
            b.setLogprobs(lb);
        }
        return b.build();
    }

    /**
     * The log-probabilities of a token from the wire, or null when it has none.
     *
     * @throws IllegalArgumentException when the top lists differ in length
     */
    static TokenLogprobs logprobs(Token m) {
        if (!m.hasLogprobs()) return null;
        io.baton.rpc.proto.TokenLogprobs l = m.getLogprobs();
        if (l.getTopTokensCount() != l.getTopLogprobsCount()) {
            throw new IllegalArgumentException("token " + m.getToken() + ": " + l.getTopTokensCount() + " top tokens but "
                    + l.getTopLogprobsCount() + " top log-probabilities");
        }
        List<TokenLogprob> top = new ArrayList<>(l.getTopTokensCount());
        for (int i = 0; i < l.getTopTokensCount(); i++) top.add(new TokenLogprob(l.getTopTokens(i), l.getTopLogprobs(i)));
        return new TokenLogprobs(m.getToken(), l.getLogprob(), top);
    }

    static io.baton.rpc.proto.FinishReason finish(FinishReason r) {
        return switch (r) {
            case STOP -> io.baton.rpc.proto.FinishReason.STOP;
            case LENGTH -> io.baton.rpc.proto.FinishReason.LENGTH;
            case ABORT -> io.baton.rpc.proto.FinishReason.ABORT;
        };
    }

    static FinishReason finish(io.baton.rpc.proto.FinishReason r) {
        return switch (r) {
            case STOP -> FinishReason.STOP;
            case LENGTH -> FinishReason.LENGTH;
            case ABORT -> FinishReason.ABORT;
            default -> throw new IllegalArgumentException("unknown finish reason " + r);
        };
    }

    static io.baton.rpc.proto.Role role(Role r) {
        return switch (r) {
            case COLOCATED -> io.baton.rpc.proto.Role.COLOCATED;
            case PREFILL -> io.baton.rpc.proto.Role.PREFILL;
            case DECODE -> io.baton.rpc.proto.Role.DECODE;
        };
    }

    static Role role(io.baton.rpc.proto.Role r) {
        return switch (r) {
            case COLOCATED -> Role.COLOCATED;
            case PREFILL -> Role.PREFILL;
            case DECODE -> Role.DECODE;
            default -> throw new IllegalArgumentException("unknown worker role " + r);
        };
    }

    /** A KV event for the wire. Token ids are left out: the router hashes prompts itself and needs only the hashes. */
    static KvEventMessage event(KvEvent e) {
        KvEventMessage.Builder b = KvEventMessage.newBuilder().setSeq(e.seq());
        switch (e) {
            case KvEvent.BlockStored s -> {
                BlocksStored.Builder sb = BlocksStored.newBuilder().setBlockSize(s.blockSize());
                for (BlockHash h : s.hashes()) sb.addHashes(hash(h));
                if (s.parentHash() != null) sb.setParent(hash(s.parentHash()));
                b.setStored(sb);
            }
            case KvEvent.BlockRemoved r -> {
                BlocksRemoved.Builder rb = BlocksRemoved.newBuilder();
                for (BlockHash h : r.hashes()) rb.addHashes(hash(h));
                b.setRemoved(rb);
            }
            case KvEvent.AllCleared c -> b.setCleared(AllCleared.getDefaultInstance());
        }
        return b.build();
    }

    static KvEvent event(KvEventMessage m) {
        return switch (m.getKindCase()) {
            case STORED -> {
                BlocksStored s = m.getStored();
                yield new KvEvent.BlockStored(m.getSeq(), hashes(s.getHashesList()), s.hasParent() ? hash(s.getParent()) : null, null,
                        s.getBlockSize());
            }
            case REMOVED -> new KvEvent.BlockRemoved(m.getSeq(), hashes(m.getRemoved().getHashesList()));
            case CLEARED -> new KvEvent.AllCleared(m.getSeq());
            case KIND_NOT_SET -> throw new IllegalArgumentException("KV event " + m.getSeq() + " has no kind");
        };
    }

    private static io.baton.rpc.proto.BlockHash hash(BlockHash h) {
        return io.baton.rpc.proto.BlockHash.newBuilder().setHi(h.hi()).setLo(h.lo()).build();
    }

    private static BlockHash hash(io.baton.rpc.proto.BlockHash h) {
        return new BlockHash(h.getHi(), h.getLo());
    }

    private static List<BlockHash> hashes(List<io.baton.rpc.proto.BlockHash> hs) {
        List<BlockHash> out = new ArrayList<>(hs.size());
        for (io.baton.rpc.proto.BlockHash h : hs) out.add(hash(h));
        return out;
    }
}
