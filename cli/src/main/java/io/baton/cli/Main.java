package io.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code baton} command: one subcommand per task (see README, "CLI reference"). */
@Command(name = "baton", mixinStandardHelpOptions = true, version = "baton 0.1.0",
        description = "LLM serving with prefill/decode disaggregation.",
        subcommands = {CommandLine.HelpCommand.class, ModelCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
