package io.baton.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code baton tokenize}: JSON Lines in, JSON Lines out. Each input line is one JSON string; each output line is the
 * JSON array of its token ids, written (and flushed) as soon as it is known, so the command also works as a pipe.
 * A bad line stops the command with its line number after all earlier lines have been answered.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Tokenize text with a model's tokenizer, exactly as llama.cpp does.",
                "Reads JSON Lines from stdin (one JSON string per line) and writes one JSON array of token ids per line."})
final class TokenizeCommand implements Callable<Integer> {
    /** Made on first use, not when picocli instantiates every command at startup (Jackson loads ~0.25 s of classes). */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model or vocabulary file.")
    Path model;

    @Option(names = "--add-special", description = "Add BOS/EOS where the model's metadata asks for them.")
    boolean addSpecial;

    @Option(names = "--parse-special", description = "Turn special-token text such as <|im_start|> into that token.")
    boolean parseSpecial;

    @Spec
    CommandSpec spec;

    /** Where the lines come from; tests replace it. */
    InputStream stdin = System.in;

    @Override
    public Integer call() throws IOException {
        Tokenizer tokenizer;
        try (GgufFile gguf = GgufFile.open(model)) {
            tokenizer = Tokenizer.fromGguf(gguf);
        }
        PrintWriter out = spec.commandLine().getOut();
        InputStream in = new BufferedInputStream(stdin);
        // Strict UTF-8, decoded line by line so that an error names the right line.
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteArrayOutputStream lineBytes = new ByteArrayOutputStream();
        long lineNo = 0;
        for (int b = in.read(); b >= 0; ) {
            lineBytes.reset();
            while (b >= 0 && b != '\n') {
                lineBytes.write(b);
                b = in.read();
            }
            lineNo++;
            String line;
            try {
                line = utf8.decode(ByteBuffer.wrap(lineBytes.toByteArray())).toString();
            } catch (CharacterCodingException e) {
                throw new InputException("stdin line " + lineNo + ": not valid UTF-8");
            }
            int[] ids = tokenizer.encode(parseLine(line, lineNo), addSpecial, parseSpecial);
            out.println(toJson(ids));
            out.flush();
            if (b >= 0) b = in.read(); // past the newline
        }
        return 0;
    }

    private static String parseLine(String line, long lineNo) {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw new InputException("stdin line " + lineNo + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isTextual()) {
            String got = node == null || node.isMissingNode() ? "an empty line" : node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
            throw new InputException("stdin line " + lineNo + ": expected a JSON string, got " + got);
        }
        return node.textValue();
    }

    private static String toJson(int[] ids) {
        StringBuilder b = new StringBuilder(ids.length * 7 + 2).append('[');
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) b.append(',');
            b.append(ids[i]);
        }
        return b.append(']').toString();
    }

    /** Bad input on stdin; Main prints its message as the one error line. */
    static final class InputException extends RuntimeException {
        InputException(String message) {
            super(message);
        }
    }
}
