package dev.mergeline.devstack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A clone of the repository is all a user needs: no text file points outside it, every relative
 * link of the Markdown docs resolves to a file inside it, and the license is there.
 *
 * <p>Walks the working tree from the repository root, skipping build output ({@code target*},
 * {@code cdk.out}, {@code node_modules}), {@code .git} and binary files (a NUL byte in the first
 * 8 KiB). Runs with the module directory ({@code merge-engine/devstack}) as working directory.
 */
class RepositoryFilesTest {

    private static final Path ROOT = Path.of("../..").toAbsolutePath().normalize();
    private static final Set<String> SKIPPED_DIRS = Set.of(".git", "cdk.out", "node_modules", ".idea");

    /** Places outside the repository that a session's machine happens to have beside a checkout. */
    private static final List<String> OUTSIDE_REFERENCES =
            List.of(".." + "/shared", "shared" + "/corpus", "shared" + "/DESIGN", "shared" + "/STYLE");

    private static final Pattern MARKDOWN_LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

    @Test
    void noTextFilePointsOutsideTheRepository() throws IOException {
        List<String> offenders = new ArrayList<>();
        for (Path file : textFiles()) {
            String text = Files.readString(file, StandardCharsets.ISO_8859_1);
            for (String reference : OUTSIDE_REFERENCES) {
                if (text.contains(reference)) {
                    offenders.add(ROOT.relativize(file) + " mentions " + reference);
                }
            }
        }
        assertEquals(List.of(), offenders);
    }

    @Test
    void everyRelativeMarkdownLinkResolvesInsideTheRepository() throws IOException {
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path file : textFiles()) {
            if (!file.getFileName().toString().endsWith(".md")) {
                continue;
            }
            Matcher m = MARKDOWN_LINK.matcher(Files.readString(file, StandardCharsets.UTF_8));
            while (m.find()) {
                String target = m.group(1);
                if (target.startsWith("#") || target.matches("^[a-z][a-z0-9+.-]*:.*")) {
                    continue; // in-page anchor or an absolute URL
                }
                String pathPart = target.replaceFirst("#.*$", "");
                Path resolved = file.getParent().resolve(pathPart).normalize();
                checked++;
                if (!resolved.startsWith(ROOT) || !Files.exists(resolved)) {
                    broken.add(ROOT.relativize(file) + " → " + target);
                }
            }
        }
        assertEquals(List.of(), broken);
        assertTrue(checked > 20, "the docs link to each other (" + checked + " links checked)");
    }

    @Test
    void licenseIsApache2() throws IOException {
        String license = Files.readString(ROOT.resolve("LICENSE"));
        assertTrue(license.contains("Apache License") && license.contains("Version 2.0, January 2004"),
                "LICENSE holds the Apache License 2.0 text");
    }

    private static List<Path> textFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(ROOT)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isRegularFile(p) && !insideSkippedDir(p) && !isBinary(p)) {
                    files.add(p);
                }
            }
        }
        assertTrue(files.size() > 100, "walked the repository from " + ROOT);
        return files;
    }

    private static boolean insideSkippedDir(Path file) {
        for (Path part : ROOT.relativize(file)) {
            String name = part.toString();
            if (SKIPPED_DIRS.contains(name) || name.startsWith("target")) {
                return true;
            }
        }
        return false;
    }

    private static boolean isBinary(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(8192);
            for (byte b : head) {
                if (b == 0) {
                    return true;
                }
            }
            return false;
        }
    }
}
