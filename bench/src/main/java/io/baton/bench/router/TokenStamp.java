package io.baton.bench.router;

/**
 * What a scripted worker's token says about itself. Its text is {@code SEQ:K:NANOS;} (written by the router module's
 * {@code ScriptedWorkerClient.text}): the request's number, the token's index from 0, and the
 * {@link System#nanoTime()} at which the worker handed it to the router.
 */
public record TokenStamp(long seq, int index, long emitNanos) {

    /** Reads one token's text; null when it is not exactly a stamp (a token cut, merged or altered on the way). */
    public static TokenStamp parse(String text) {
        if (text == null || !text.endsWith(";")) return null;
        int a = text.indexOf(':'), b = text.indexOf(':', a + 1);
        if (a <= 0 || b <= a + 1 || b >= text.length() - 2 || text.indexOf(':', b + 1) >= 0) return null;
        try {
            long seq = Long.parseLong(text, 0, a, 10);
            int index = Integer.parseInt(text, a + 1, b, 10);
            long nanos = Long.parseLong(text, b + 1, text.length() - 1, 10);
            return seq < 0 || index < 0 ? null : new TokenStamp(seq, index, nanos);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
