package dev.mergeline.infra;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The real {@code functions/target/function.zip}, unpacked the way Lambda's Java runtime lays it
 * out: the zip's root and every {@code lib/*.jar} on the class path, nothing of this JVM's class
 * path (the parent is the platform loader), so a class resolves only if the zip ships it.
 */
final class FunctionZip implements AutoCloseable {

    /** Where {@code ./mvnw package} leaves the zip, relative to the infra module (surefire's working directory). */
    static Path defaultPath() {
        return Path.of(System.getProperty("mergeline.infra.dir", ".")).toAbsolutePath()
                .resolve("../functions/target/function.zip").normalize();
    }

    private final Path dir;
    private final URLClassLoader loader;

    private FunctionZip(Path dir, URLClassLoader loader) {
        this.dir = dir;
        this.loader = loader;
    }

    static FunctionZip open(Path zip) throws IOException {
        Path dir = Files.createTempDirectory("mergeline-function-zip");
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null;) {
                Path target = dir.resolve(e.getName()).normalize();
                if (!target.startsWith(dir)) {
                    throw new IOException("zip entry outside the archive: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(in, target);
                }
            }
        }
        List<URL> urls = new ArrayList<>();
        urls.add(dir.toUri().toURL());
        for (Path jar : jars(dir)) {
            urls.add(jar.toUri().toURL());
        }
        return new FunctionZip(dir, new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader()));
    }

    private static List<Path> jars(Path dir) throws IOException {
        Path lib = dir.resolve("lib");
        if (!Files.isDirectory(lib)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(lib)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().toList();
        }
    }

    /** The jars under {@code lib/}. */
    List<Path> libraries() throws IOException {
        return jars(dir);
    }

    /** Loads without initializing (no static initializer of the function code runs). */
    Class<?> load(String className) throws ClassNotFoundException {
        return Class.forName(className, false, loader);
    }

    /** Binary names of the classes at the zip's root under a package, e.g. {@code dev.mergeline.functions}. */
    List<String> rootClasses(String packageName) throws IOException {
        Path pkg = dir.resolve(packageName.replace('.', '/'));
        try (Stream<Path> s = Files.list(pkg)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".class"))
                    .map(n -> packageName + "." + n.substring(0, n.length() - ".class".length())).sorted().toList();
        }
    }

    /** The application.properties the function ships (read by Quarkus at run time). */
    Properties applicationProperties() throws IOException {
        Properties p = new Properties();
        try (InputStream in = loader.getResourceAsStream("application.properties")) {
            if (in == null) {
                throw new IOException("function.zip has no application.properties");
            }
            p.load(in);
        }
        return p;
    }

    @Override
    public void close() {
        try {
            loader.close();
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
