package io.baton.cli;

import io.baton.router.DisaggregatedFlow;
import io.baton.router.RouterConfig;
import io.baton.router.RoutingPolicy;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The router's options, shared by {@code baton serve} and {@code baton router} (a picocli mixin). */
final class RouterOptions {
    @Option(names = "--host", paramLabel = "ADDR", defaultValue = RouterConfig.DEFAULT_HOST, description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "" + RouterConfig.DEFAULT_PORT, description = "TCP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--policy", paramLabel = "NAME", defaultValue = "cache-aware", description = "Routing policy: cache-aware, least-loaded or round-robin (default: ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--disaggregation-threshold", paramLabel = "TOKENS|auto", defaultValue = "auto",
            description = "Prompts shorter than this skip the prefill worker and are prefilled by the decode worker; auto: the prompt"
                    + " length the chosen decode worker prefills within the 40 ms TPOT objective, from the speed it measured at startup"
                    + " (default: ${DEFAULT-VALUE}).")
    String disaggregationThreshold;

    @Option(names = "--served-model-name", paramLabel = "NAME", description = "The model id clients use (default: the file name without .gguf).")
    String servedName;

    @Option(names = "--chat-template", paramLabel = "FILE", description = "A Jinja chat template replacing the model's own (for models without one).")
    Path chatTemplate;

    @Option(names = "--max-body-size", paramLabel = "SIZE", description = "Largest request body; larger ones get 413 (default: 4M).")
    String maxBody;

    @Option(names = "--max-prompt-tokens", paramLabel = "N", defaultValue = "0", description = "Longest prompt in tokens; 0 = the context length minus one (default: ${DEFAULT-VALUE}).")
    int maxPromptTokens;

    @Option(names = "--max-concurrent-requests", paramLabel = "N", defaultValue = "" + RouterConfig.DEFAULT_MAX_CONCURRENT_REQUESTS,
            description = "Requests in flight at once; more get 429 (default: ${DEFAULT-VALUE}).")
    int maxConcurrent;

    @Option(names = "--ttft-slo", paramLabel = "SECONDS", defaultValue = "" + RouterConfig.DEFAULT_TTFT_SLO_SECONDS,
            description = "Time-to-first-token objective for admission control (default: ${DEFAULT-VALUE}).")
    double ttftSlo;

    @Option(names = "--admission-factor", paramLabel = "F", defaultValue = "" + RouterConfig.DEFAULT_ADMISSION_FACTOR,
            description = "Refuse (429) requests predicted to wait longer than the TTFT objective × F (default: ${DEFAULT-VALUE}).")
    double admissionFactor;

    @Option(names = "--prepare-threads", paramLabel = "N", defaultValue = "" + RouterConfig.DEFAULT_PREPARE_THREADS,
            description = "Threads that template and tokenize requests (default: ${DEFAULT-VALUE}).")
    int prepareThreads;

    /** The router configuration these options give; checks the policy name. */
    RouterConfig config() {
        if (!RoutingPolicy.NAMES.contains(policy)) {
            throw new IllegalArgumentException("unknown --policy '" + policy + "' (expected one of " + String.join(", ", RoutingPolicy.NAMES) + ")");
        }
        return new RouterConfig(host, port, maxBody == null ? RouterConfig.DEFAULT_MAX_BODY_BYTES : ServeCommand.parseSize(maxBody, "--max-body-size"),
                maxPromptTokens, maxConcurrent, ttftSlo, admissionFactor, 0, prepareThreads, RouterConfig.DEFAULT_EVENT_LOOPS, policy);
    }

    /** The text of {@code --chat-template}, or null when none was given. */
    String chatTemplateText() {
        if (chatTemplate == null) return null;
        try {
            return Files.readString(chatTemplate);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read chat template " + chatTemplate + ": " + e.getMessage(), e);
        }
    }

    /** {@code --disaggregation-threshold} as tokens, or {@link DisaggregatedFlow#AUTO}. */
    int minPromptTokens() {
        String v = disaggregationThreshold.trim();
        if (v.equalsIgnoreCase("auto")) return DisaggregatedFlow.AUTO;
        try {
            int n = Integer.parseInt(v);
            if (n >= 0) return n;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--disaggregation-threshold must be a number of tokens >= 0 or auto, got '" + disaggregationThreshold + "'");
    }
}
