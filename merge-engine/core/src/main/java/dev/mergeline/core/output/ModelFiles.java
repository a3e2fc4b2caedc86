package dev.mergeline.core.output;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Which files of a model directory a merged checkpoint carries besides its weights and
 * {@code config.json}: the one rule used by the CLI, the worker's S3 staging and the manifest.
 *
 * <ul>
 *   <li>From the base: every regular top-level file that is not weights (in any format), not a
 *       weight index, not {@code config.json} (rewritten), not the base's model card
 *       ({@code README.md}, which describes the base, not the merge), not adapter files, not a
 *       manifest and not hidden. This keeps processor, preprocessor, video preprocessor, chat
 *       template, tokenizer, special-token and generation files and custom code ({@code *.py}).</li>
 *   <li>From the adapter directory: the tokenizer/processor/template/generation files it has
 *       ({@link #ADAPTER_OVERRIDES}); they win over the base's (an adapter trained with added tokens
 *       or a new chat template ships its own). Trainer state, optimizer files and the adapter's
 *       own config and weights are not model files.</li>
 * </ul>
 */
public final class ModelFiles {
    /** Files of an adapter directory that belong to the merged model and replace the base's. */
    static final Pattern ADAPTER_OVERRIDES = Pattern.compile(
            "tokenizer.*|special_tokens_map\\.json|added_tokens\\.json|vocab\\.(json|txt)|merges\\.txt"
                    + "|generation_config\\.json|chat_template\\.(jinja|json)|(video_)?preprocessor_config\\.json"
                    + "|processor_config\\.json|.*\\.tiktoken|spiece\\.model|sentencepiece\\.bpe\\.model");

    /** Extensions of weight files: safetensors are rewritten by the merge, other formats would be stale. */
    private static final Set<String> WEIGHT_EXTENSIONS = Set.of(
            "safetensors", "bin", "pt", "pth", "ckpt", "h5", "msgpack", "gguf", "onnx", "ot", "npz", "pkl", "pickle");

    /** Files the merge writes itself or that describe an input rather than the merged model. */
    private static final Set<String> NOT_CARRIED = Set.of(
            "config.json", "README.md", "MANIFEST.json", "adapter_config.json");

    private ModelFiles() {}

    /** True for weight files in any format, including pickled ones the merge refuses to read. */
    public static boolean isWeights(String name) {
        int dot = name.lastIndexOf('.');
        return dot >= 0 && WEIGHT_EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /** A weight format other than safetensors: never downloaded, read or carried. */
    public static boolean isForeignWeights(String name) {
        return isWeights(name) && !name.toLowerCase(Locale.ROOT).endsWith(".safetensors");
    }

    /** True for a top-level file name of the base directory that the merged checkpoint carries unchanged. */
    public static boolean carriedFromBase(String name) {
        return !name.startsWith(".") && !name.contains("/") && !isWeights(name) && !name.endsWith(".index.json")
                && !NOT_CARRIED.contains(name) && !name.startsWith("adapter_model.");
    }

    /** True for a top-level file name of the adapter directory that replaces (or adds to) the base's. */
    public static boolean carriedFromAdapter(String name) {
        return !name.startsWith(".") && ADAPTER_OVERRIDES.matcher(name).matches();
    }

    /**
     * The files to copy into the merged checkpoint, by output name (sorted), each from the adapter
     * directory when it has its own, else from the base directory.
     */
    public static Map<String, Path> carried(Path baseDir, Path adapterDir) throws IOException {
        Map<String, Path> sources = new TreeMap<>();
        for (Path p : regularFiles(baseDir)) {
            if (carriedFromBase(p.getFileName().toString())) {
                sources.put(p.getFileName().toString(), p);
            }
        }
        for (Path p : regularFiles(adapterDir)) {
            if (carriedFromAdapter(p.getFileName().toString())) {
                sources.put(p.getFileName().toString(), p);
            }
        }
        return sources;
    }

    private static List<Path> regularFiles(Path dir) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, Files::isRegularFile)) {
            return java.util.stream.StreamSupport.stream(entries.spliterator(), false).toList();
        }
    }
}
