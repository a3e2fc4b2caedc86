package dev.mergeline.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code mergeline <command> --flag value ...}: a command and its flags, checked against the flags
 * the command accepts.
 *
 * @param command "merge", "validate" or "help"
 * @param flags flag name (without dashes) → value
 */
record CliArguments(String command, Map<String, String> flags) {

    static final Map<String, Set<String>> ACCEPTED = Map.of(
            "merge", Set.of("base", "adapter", "out", "dtype", "shard-size", "kernel", "max-adapter-size", "max-tensors",
                    "progress", "block-size", "profile"),
            "validate", Set.of("base", "adapter", "dtype", "max-adapter-size", "max-tensors"));
    static final Map<String, Set<String>> REQUIRED = Map.of(
            "merge", Set.of("base", "adapter", "out"),
            "validate", Set.of("base", "adapter"));

    /** Thrown for a command line that cannot be run; the message says what to change. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static CliArguments parse(List<String> args) throws UsageException {
        if (args.isEmpty() || Set.of("help", "--help", "-h").contains(args.get(0))) {
            return new CliArguments("help", Map.of());
        }
        String command = args.get(0);
        Set<String> accepted = ACCEPTED.get(command);
        if (accepted == null) {
            throw new UsageException("unknown command '" + command + "'; expected merge or validate");
        }
        Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 1; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument '" + arg + "'; flags look like --base DIR");
            }
            String name = arg.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < args.size()) {
                value = args.get(++i);
            } else {
                throw new UsageException("flag --" + name + " needs a value");
            }
            if (!accepted.contains(name)) {
                throw new UsageException("unknown flag --" + name + " for " + command + "; accepted: " + accepted);
            }
            if (flags.put(name, value) != null) {
                throw new UsageException("flag --" + name + " given twice");
            }
        }
        for (String required : REQUIRED.get(command)) {
            if (!flags.containsKey(required)) {
                throw new UsageException(command + " needs --" + required);
            }
        }
        return new CliArguments(command, flags);
    }

    /**
     * Parses the value of {@code --flag}, "5GB", "500MB", "2GiB", "1000000", into bytes (decimal
     * units as Hugging Face uses them).
     */
    static long parseSize(String flag, String text) throws UsageException {
        String t = text.trim().toUpperCase(java.util.Locale.ROOT);
        long unit = 1;
        String[][] units = {{"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"}, {"GB", "1000000000"},
                {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}};
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                unit = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            long value = Math.multiplyExact(Long.parseLong(t), unit);
            if (value <= 0) {
                throw new UsageException("--" + flag + " must be positive, got " + text);
            }
            return value;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UsageException("--" + flag + " '" + text + "' is not a size like 5GB or 500MB");
        }
    }

    /** Parses the value of {@code --flag} as a positive int. */
    static int parseCount(String flag, String text) throws UsageException {
        try {
            int value = Integer.parseInt(text.trim());
            if (value <= 0) {
                throw new UsageException("--" + flag + " must be positive, got " + text);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + flag + " '" + text + "' is not a whole number between 1 and "
                    + Integer.MAX_VALUE);
        }
    }
}
