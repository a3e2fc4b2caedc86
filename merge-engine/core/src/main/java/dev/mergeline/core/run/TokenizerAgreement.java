package dev.mergeline.core.run;

import dev.mergeline.core.hf.TokenizerVocabulary;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.VocabularyGrowth;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * When a merge grows the vocabulary (an adapter trained with added tokens), the tokenizer the
 * merged directory gets — the adapter directory's {@code tokenizer.json}, else the base's — must
 * define the added tokens and no id beyond the grown embeddings: with T its id count
 * ({@link TokenizerVocabulary}), N the base's rows and M the merged rows, {@code N < T <= M}
 * (T < M when the embeddings were padded, {@code resize_token_embeddings(..., pad_to_multiple_of)}).
 * Without a {@code tokenizer.json} in either directory there is nothing to count and nothing is checked.
 */
public final class TokenizerAgreement {
    public static final String FILE = "tokenizer.json";

    private TokenizerAgreement() {}

    /** Rejects a grown merge whose tokenizer does not fit it; no-op when the vocabulary does not grow. */
    public static void check(MergePlan plan, Path baseDir, Path adapterDir) throws IOException, RejectedException {
        if (plan.vocabularyGrowth().isEmpty()) {
            return;
        }
        Path file = Files.isRegularFile(adapterDir.resolve(FILE)) ? adapterDir.resolve(FILE) : baseDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return;
        }
        OptionalLong size;
        try (InputStream in = Files.newInputStream(file)) {
            size = TokenizerVocabulary.size(in);
        } catch (IOException e) {
            throw new RejectedException(Reason.about(ReasonCode.TENSOR_SHAPE_MISMATCH, file.toString(),
                    "cannot count the tokens of " + file + " to check it against the grown vocabulary: " + e.getMessage()));
        }
        String which = file.getParent().equals(adapterDir) ? "the adapter's " + FILE : "the base's " + FILE
                + " (the adapter directory has none)";
        Optional<Reason> reason = check(plan.vocabularyGrowth().get(), which, size);
        if (reason.isPresent()) {
            throw new RejectedException(reason.get());
        }
    }

    /** The rule, for a tokenizer of {@code size} ids described as {@code which}. */
    static Optional<Reason> check(VocabularyGrowth growth, String which, OptionalLong size) {
        if (size.isEmpty()) {
            return Optional.empty();
        }
        long tokens = size.getAsLong();
        if (tokens > growth.baseRows() && tokens <= growth.rows()) {
            return Optional.empty();
        }
        String expected = (growth.baseRows() + 1) + ".." + growth.rows() + " token ids";
        String problem = tokens > growth.rows()
                ? " defines ids up to " + (tokens - 1) + ", beyond the merged embedding's " + growth.rows() + " rows"
                : " defines only " + tokens + " token ids, none of the " + (growth.rows() - growth.baseRows())
                        + " added rows (is it the base's tokenizer?)";
        return Optional.of(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, growth.embedding(), "the adapter grows "
                + growth.embedding() + " from " + growth.baseRows() + " to " + growth.rows() + " rows but " + which
                + problem + "; ship the tokenizer saved with the added tokens in the adapter directory",
                expected, tokens + " token ids"));
    }
}
