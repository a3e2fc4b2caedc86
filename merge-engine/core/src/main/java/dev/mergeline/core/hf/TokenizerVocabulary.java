package dev.mergeline.core.hf;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.util.OptionalLong;

/**
 * The number of token ids a Hugging Face {@code tokenizer.json} defines: one more than the
 * highest id among the model's vocabulary ({@code model.vocab}: a map from token to id for
 * BPE/WordPiece/WordLevel, a list of {@code [piece, score]} whose index is the id for Unigram) and
 * the {@code added_tokens} ids. This is {@code len(tokenizer)} for the usual contiguous ids, the
 * size {@code resize_token_embeddings(len(tokenizer))} gives the embeddings. Read as a stream, so a
 * large tokenizer never becomes a tree in memory.
 */
public final class TokenizerVocabulary {
    private static final JsonFactory JSON = new JsonFactory();

    private TokenizerVocabulary() {}

    /** The id count, or empty when the document has neither a model vocabulary nor added tokens. */
    public static OptionalLong size(InputStream tokenizerJson) throws IOException {
        long highest = -1;
        boolean found = false;
        try (JsonParser p = JSON.createParser(tokenizerJson)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("tokenizer.json is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if ("added_tokens".equals(field) && value == JsonToken.START_ARRAY) {
                    found = true;
                    highest = Math.max(highest, addedTokens(p));
                } else if ("model".equals(field) && value == JsonToken.START_OBJECT) {
                    long model = model(p);
                    found |= model >= 0;
                    highest = Math.max(highest, model);
                } else {
                    p.skipChildren();
                }
            }
        }
        return found ? OptionalLong.of(highest + 1) : OptionalLong.empty();
    }

    /** Highest {@code id} of the added tokens array (parser on its START_ARRAY). */
    private static long addedTokens(JsonParser p) throws IOException {
        long highest = -1;
        while (p.nextToken() == JsonToken.START_OBJECT) {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if ("id".equals(field) && value == JsonToken.VALUE_NUMBER_INT) {
                    highest = Math.max(highest, p.getLongValue());
                } else {
                    p.skipChildren();
                }
            }
        }
        return highest;
    }

    /** Highest id of {@code model.vocab}, or -1 (parser on the model's START_OBJECT). */
    private static long model(JsonParser p) throws IOException {
        long highest = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if ("vocab".equals(field) && value == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    if (p.nextToken() == JsonToken.VALUE_NUMBER_INT) {
                        highest = Math.max(highest, p.getLongValue());
                    } else {
                        p.skipChildren();
                    }
                }
            } else if ("vocab".equals(field) && value == JsonToken.START_ARRAY) {
                long count = 0;
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    p.skipChildren();
                    count++;
                }
                highest = Math.max(highest, count - 1);
            } else {
                p.skipChildren();
            }
        }
        return highest;
    }
}
