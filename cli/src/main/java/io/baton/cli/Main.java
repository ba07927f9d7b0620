package io.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;

/**
 * The {@code baton} command: one subcommand per task (README, "CLI reference"). Any failure prints one line on stderr
 * ({@code baton: error: ...}) and exits with status 1; {@code --verbose} adds the stack trace.
 */
@Command(name = "baton", mixinStandardHelpOptions = true, version = "baton 0.1.0",
        description = "LLM serving with prefill/decode disaggregation.",
        subcommands = {CommandLine.HelpCommand.class, GenerateCommand.class, TokenizeCommand.class, LogitsCommand.class, ServeCommand.class, RouterCommand.class, WorkerCommand.class, ModelCommand.class, BenchCommand.class})
public final class Main {
    /** Exit status of every error. */
    public static final int EXIT_ERROR = 1;

    private boolean verbose;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print stack traces with errors.")
    void setVerbose(boolean v) {
        verbose = v;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (also used by tests to run commands in-process). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        // Every path option also takes hf://OWNER/REPO/FILE.gguf (downloaded once into the cache; see HubModels).
        cl.registerConverter(java.nio.file.Path.class, HubModels::resolve);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            PrintWriter err = cmd.getErr();
            err.println("baton: error: " + message(ex));
            if (cmd.getCommandSpec().root().userObject() instanceof Main m && m.verbose) ex.printStackTrace(err);
            err.flush();
            return EXIT_ERROR;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("baton: error: " + ex.getMessage());
            err.println("(see: baton " + ex.getCommandLine().getCommandName() + " --help)");
            err.flush();
            return EXIT_ERROR;
        });
        return cl;
    }

    private static String message(Throwable ex) {
        String m = ex.getMessage();
        if (m == null || m.isBlank()) m = ex.getClass().getSimpleName();
        if (ex instanceof OutOfMemoryError) m = "out of memory (" + m + "); raise the heap with BATON_JAVA_OPTS=-Xmx...";
        return m.lines().findFirst().orElse(m);
    }
}
