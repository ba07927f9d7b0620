package io.baton.cli;

import picocli.CommandLine.Command;

/** {@code baton model}: tools that make or inspect model files. */
@Command(name = "model", mixinStandardHelpOptions = true, description = "Model file tools.",
        subcommands = {ModelSynthCommand.class})
final class ModelCommand {
}
