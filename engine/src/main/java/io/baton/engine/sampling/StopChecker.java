package io.baton.engine.sampling;

import java.util.List;
import java.util.Set;

/**
 * Decides, token by token, what text of a streamed output may be sent and when the output ends. One per request.
 *
 * <p>Stop strings can arrive split over several tokens ("&lt;/st" + "op&gt;"), so text that could still be the start of
 * a stop string is held back until it either completes one (then it is dropped and the output ends; the stop string
 * itself is never sent, as vLLM's default {@code include_stop_str_in_output=false}) or cannot any more (then it is
 * sent). A stop string is therefore never sent in part. The earliest match wins when several stop strings match.
 *
 * <p>The output also ends on EOS (unless {@code ignoreEos}) and on any of {@code stopTokenIds}, whose text is not
 * sent, and with {@link FinishReason#LENGTH} once {@code maxTokens} tokens were generated. When it ends, all text still
 * held back that is not part of a stop string is sent with the last step.
 */
public final class StopChecker {
    /**
     * What one token produced.
     *
     * @param text        text that is now safe to send (possibly empty)
     * @param finish      null while generation goes on
     * @param stopString  the stop string that matched, or null
     * @param stopTokenId the stop token id that matched (EOS included), or -1
     */
    public record Step(String text, FinishReason finish, String stopString, int stopTokenId) {
        public boolean finished() {
            return finish != null;
        }
    }

    private final List<String> stops;
    private final Set<Integer> stopTokenIds;
    private final int eosTokenId;
    private final boolean ignoreEos;
    private final int maxTokens;
    private final StringBuilder pending = new StringBuilder();
    private int tokens;
    private boolean finished;

    /**
     * @param eosTokenId the model's EOS token id, or -1 if it has none
     */
    public StopChecker(SamplingParams params, int eosTokenId) {
        this.stops = params.stop();
        this.stopTokenIds = params.stopTokenIds();
        this.eosTokenId = eosTokenId;
        this.ignoreEos = params.ignoreEos();
        this.maxTokens = params.maxTokens();
    }

    /**
     * Takes the next generated token and the text it adds to the output.
     *
     * @throws IllegalStateException if the output has already ended
     */
    public Step accept(int tokenId, String text) {
        if (finished) throw new IllegalStateException("the output has already ended");
        tokens++;
        if ((tokenId == eosTokenId && eosTokenId >= 0 && !ignoreEos) || stopTokenIds.contains(tokenId)) {
            return end(FinishReason.STOP, null, tokenId);
        }
        pending.append(text);
        int matchAt = -1;
        String match = null;
        for (String stop : stops) {
            int at = pending.indexOf(stop);
            if (at >= 0 && (matchAt < 0 || at < matchAt)) {
                matchAt = at;
                match = stop;
            }
        }
        if (match != null) {
            pending.setLength(matchAt);
            return end(FinishReason.STOP, match, -1);
        }
        if (tokens >= maxTokens) return end(FinishReason.LENGTH, null, -1);
        int keep = heldBack();
        String safe = pending.substring(0, pending.length() - keep);
        pending.delete(0, pending.length() - keep);
        return new Step(safe, null, null, -1);
    }

    /** Number of tokens accepted so far. */
    public int tokens() {
        return tokens;
    }

    public boolean finished() {
        return finished;
    }

    private Step end(FinishReason reason, String stopString, int stopTokenId) {
        finished = true;
        String rest = pending.toString();
        pending.setLength(0);
        return new Step(rest, reason, stopString, stopTokenId);
    }

    /** Length of the longest end of the pending text that is a proper prefix of some stop string. */
    private int heldBack() {
        int longest = 0;
        for (String stop : stops) {
            int max = Math.min(stop.length() - 1, pending.length());
            for (int n = max; n > longest; n--) {
                if (endsWith(pending, stop, n)) {
                    longest = n;
                    break;
                }
            }
        }
        return longest;
    }

    /** True when the last n chars of {@code text} equal the first n chars of {@code stop}. */
    private static boolean endsWith(StringBuilder text, String stop, int n) {
        int from = text.length() - n;
        for (int i = 0; i < n; i++) {
            if (text.charAt(from + i) != stop.charAt(i)) return false;
        }
        return true;
    }
}
