package io.baton.cli;

import io.baton.engine.gguf.GgufException;
import io.baton.engine.synth.ModelShape;
import io.baton.engine.synth.ModelShapes;
import io.baton.engine.synth.ModelSynth;
import io.baton.engine.synth.WeightType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code baton model synth}: writes a stand-in for a real model (its exact shape, seeded random weights, the tokenizer
 * of a vocabulary GGUF) for speed and memory measurements. See {@link ModelSynth}.
 */
@Command(name = "synth", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes a GGUF with the exact shape of a known model, seeded random weights and the tokenizer of a vocabulary GGUF.",
                "Shapes: qwen2.5-0.5b, qwen2.5-1.5b, llama-3.2-1b, llama-3.2-3b, qwen3-0.6b, smollm2-135m.",
                "Types: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k: every weight matrix in that type (K-quants fall back to q4_0/q8_0 "
                        + "for rows that are not a multiple of 256); norms, biases and RoPE factors stay f32.",
                "The vocabulary size is the vocabulary file's token count (../shared/vocab holds three real ones).",
                "The same seed gives the same file."})
final class ModelSynthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--like", required = true, paramLabel = "NAME", description = "the model whose shape to copy")
    String like;

    @Option(names = "--type", required = true, paramLabel = "TYPE", description = "weight type of the matrices")
    String type;

    @Option(names = "--vocab", required = true, paramLabel = "FILE", description = "GGUF whose tokenizer.* metadata to copy")
    Path vocab;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the GGUF to write (replaced if it exists)")
    Path out;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--threads", paramLabel = "N", description = "threads generating weights (default: the number of CPUs)")
    Integer threads;

    @Option(names = "--layers", paramLabel = "N", description = "keep only N layers (quick tests: the file is then smaller than the real shape)")
    Integer layers;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Optional<ModelShape> found = ModelShapes.find(like);
        if (found.isEmpty()) return fail("unknown shape '" + like + "' (known: " + ModelShapes.names() + ")");
        Optional<WeightType> weightType = WeightType.parse(type);
        if (weightType.isEmpty()) return fail("unknown type '" + type + "' (types: " + WeightType.names() + ")");
        ModelShape shape = found.get();
        if (layers != null) {
            if (layers < 1 || layers > shape.layers()) return fail("--layers must be between 1 and " + shape.layers() + " for " + shape.name());
            shape = shape.withLayers(layers);
        }
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1) return fail("--threads must be at least 1");
        Path dir = out.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) return fail("output folder " + dir + " does not exist");
        if (Files.isDirectory(out)) return fail("output " + out + " is a folder");

        long start = System.nanoTime();
        ModelSynth.Result r;
        try {
            r = ModelSynth.write(shape, weightType.get(), vocab, out, seed, n);
        } catch (GgufException e) {
            return fail(e.getMessage());
        } catch (IOException e) {
            return fail("cannot write " + out + ": " + e);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (r.vocabSize() != shape.vocabSize()) {
            err.printf("note: the vocabulary has %d tokens; the real %s has %d, so the embedding differs from the real model's%n",
                    r.vocabSize(), shape.name(), shape.vocabSize());
        }
        spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: %s %s, %d layers, vocabulary %d, %.3f B parameters, %.2f GB in %.1f s%n",
                out, shape.name(), weightType.get().cliName(), shape.layers(), r.vocabSize(), r.parameters() / 1e9, r.bytes() / 1e9, seconds);
        return 0;
    }

    private int fail(String message) {
        spec.commandLine().getErr().println("baton model synth: " + message);
        return 1;
    }
}
