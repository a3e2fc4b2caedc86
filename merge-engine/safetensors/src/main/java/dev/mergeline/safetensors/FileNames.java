package dev.mergeline.safetensors;

/** Names of the files that make up a checkpoint. */
public final class FileNames {

    /** The weights of an unsharded checkpoint. */
    public static final String SINGLE = "model.safetensors";
    /** The index of a sharded checkpoint: tensor name to shard file. */
    public static final String INDEX = "model.safetensors.index.json";

    private FileNames() {
    }

    /** The name of shard {@code index} (0-based) of {@code count}, as Hugging Face names them. */
    static String shard(int index, int count) {
        return count == 1 ? SINGLE : String.format("model-%05d-of-%05d.safetensors", index + 1, count);
    }

    /**
     * Why a file name is not a plain name inside the checkpoint directory, or null if it is one.
     * Rejects empty names, path separators, "..", NUL, and names starting with '.' (hidden and
     * temporary files).
     */
    static String problem(String name) {
        if (name == null || name.isEmpty()) {
            return "file name is empty";
        }
        if (name.indexOf('/') >= 0 || name.indexOf('\\') >= 0) {
            return "file name '" + HeaderParser.escape(name) + "' contains a path separator";
        }
        if (name.contains("..")) {
            return "file name '" + HeaderParser.escape(name) + "' contains '..'";
        }
        if (name.indexOf('\0') >= 0 || name.indexOf(':') >= 0) {
            return "file name '" + HeaderParser.escape(name) + "' contains a NUL or ':'";
        }
        if (name.startsWith(".")) {
            return "file name '" + HeaderParser.escape(name) + "' is hidden (starts with '.')";
        }
        return null;
    }
}
