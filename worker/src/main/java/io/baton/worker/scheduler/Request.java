package io.baton.worker.scheduler;

import java.util.Arrays;

/**
 * A request as the scheduler sees it: its tokens (prompt, then generated) and how many of them have KV computed.
 * Mutated only by the scheduler's thread.
 */
public final class Request {
    private final String id;
    private final int[] prompt;
    private final int maxTokens;
    private int[] tokens;
    private int numTokens;
    private int numComputed;
    private RequestStatus status = RequestStatus.WAITING;
    /** Admission order into the running batch; the latest admitted is preempted first. */
    long admittedAt = -1;
    int preemptions;

    /**
     * @param maxTokens the most tokens the request may generate (its blocks are never reserved for all of them:
     *                  KV memory follows the tokens actually computed)
     */
    public Request(String id, int[] prompt, int maxTokens) {
        if (prompt.length == 0) throw new IllegalArgumentException("request " + id + " has an empty prompt");
        if (maxTokens < 1) throw new IllegalArgumentException("request " + id + ": max tokens must be >= 1, got " + maxTokens);
        this.id = id;
        this.prompt = prompt.clone();
        this.maxTokens = maxTokens;
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(maxTokens, 64));
        this.numTokens = prompt.length;
    }

    public String id() {
        return id;
    }

    public int promptLength() {
        return prompt.length;
    }

    public int[] prompt() {
        return prompt.clone();
    }

    public int maxTokens() {
        return maxTokens;
    }

    /** Prompt and generated tokens (a copy). */
    public int[] allTokens() {
        return Arrays.copyOf(tokens, numTokens);
    }

    public int numTokens() {
        return numTokens;
    }

    public int numGenerated() {
        return numTokens - prompt.length;
    }

    public int[] generated() {
        return Arrays.copyOfRange(tokens, prompt.length, numTokens);
    }

    /** Tokens whose KV is in the request's blocks. */
    public int numComputed() {
        return numComputed;
    }

    public RequestStatus status() {
        return status;
    }

    public int preemptions() {
        return preemptions;
    }

    public int token(int i) {
        return tokens[i];
    }

    void appendToken(int token) {
        if (numTokens == tokens.length) tokens = Arrays.copyOf(tokens, tokens.length * 2);
        tokens[numTokens++] = token;
    }

    void setNumComputed(int n) {
        numComputed = n;
    }

    void setStatus(RequestStatus s) {
        status = s;
    }

    @Override
    public String toString() {
        return "Request[" + id + ", " + status + ", tokens=" + numTokens + ", computed=" + numComputed + "]";
    }
}
