package dev.singlepull.unpack.testing;

import dev.singlepull.content.Digest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Describing and clearing directory trees in tests. Never follows symlinks. */
public final class FileTrees {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    private FileTrees() {
    }

    /**
     * Every path under {@code root} (relative, sorted) with its type, mode, mtime and content digest or link target:
     * equal descriptions mean equal trees.
     */
    public static Map<String, String> describe(Path root) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                var attrs = Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW);
                int mode = (Integer) Files.getAttribute(p, "unix:mode", NOFOLLOW) & 07777;
                String what;
                if (attrs.isSymbolicLink()) {
                    what = "link -> " + Files.readSymbolicLink(p);
                } else if (attrs.isDirectory()) {
                    what = "dir " + Integer.toOctalString(mode) + " " + attrs.lastModifiedTime();
                } else if (attrs.isOther()) {
                    int type = (Integer) Files.getAttribute(p, "unix:mode", NOFOLLOW) & 0170000;
                    what = "node 0" + Integer.toOctalString(type) + " " + Integer.toOctalString(mode) + " rdev "
                            + Files.getAttribute(p, "unix:rdev", NOFOLLOW);
                } else {
                    what = "file " + Integer.toOctalString(mode) + " " + attrs.lastModifiedTime() + " "
                            + Digest.sha256(Files.readAllBytes(p));
                }
                out.put(root.relativize(p).toString(), what);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Deletes everything under {@code dir}, keeping {@code dir}. */
    public static void deleteContents(Path dir) throws IOException {
        try (Stream<Path> children = Files.list(dir)) {
            for (Path child : children.toList()) {
                deleteTree(child);
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (Files.isDirectory(p, NOFOLLOW)) {
            p.toFile().setWritable(true, true);
            p.toFile().setReadable(true, true);
            p.toFile().setExecutable(true, true);
            try (Stream<Path> children = Files.list(p)) {
                for (Path child : children.toList()) {
                    deleteTree(child);
                }
            }
        }
        Files.delete(p);
    }
}
