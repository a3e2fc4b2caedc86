package dev.mergeline.core.run;

import java.util.Map;

/**
 * One input directory as {@link InputRules} sees it: a listing and ranged reads, nothing else. A
 * local directory ({@link LocalDirectory}) and an S3 prefix are its two implementations; the rules
 * about which files must be there, how large they may be and how they must agree live in
 * {@link InputRules} alone.
 *
 * @param <X> what a read fails with when the storage fails (as opposed to the input being wrong)
 */
public interface InputSource<X extends Exception> {

    /**
     * The files directly in the directory (no subdirectories): plain file name to size in bytes.
     * Empty when the directory does not exist.
     */
    Map<String, Long> files() throws X;

    /**
     * Exactly {@code length} bytes of {@code file}, from {@code offset}; fails with {@code X} when
     * the storage cannot deliver them (including a file that shrank since it was listed).
     */
    byte[] read(String file, long offset, int length) throws X;

    /** How a report names {@code file} of this directory (a path or an S3 key); "" names the directory. */
    String locate(String file);
}
