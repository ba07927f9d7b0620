package io.baton.cli;

import picocli.CommandLine.Command;

/**
 * {@code baton bench}: benchmarks. A parent command only; each kind of benchmark is a subcommand
 * ({@code serve}, {@code calibrate}, {@code router}, {@code engine}, {@code kv}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: 'serve' loads any OpenAI-compatible endpoint; 'calibrate' measures this client's own overhead; 'router' the router's overhead per token.",
        subcommands = {BenchServeCommand.class, BenchCalibrateCommand.class, BenchRouterCommand.class, BenchEngineCommand.class, BenchKvCommand.class})
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }
}
