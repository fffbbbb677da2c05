package dev.singlepull.unpack.snapshot;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Whole-tree file operations of the snapshotter (and of the snapshots service, which measures and deletes the
 * directories a container runtime writes). None follows a symlink. Stateless.
 */
public final class Trees {
    private Trees() {
    }

    /** Bytes of regular files and inodes of a tree, each hard-linked inode counted once. */
    public record Usage(long size, long inodes) { }

    /**
     * Measures the tree under {@code dir} and fsyncs every regular file and directory in it, children before their
     * directory. A file this process may not open (mode 000 when not root) is measured but not synced; a directory
     * it may not list (a layer's mode 0300, say, when not root) is opened up for the walk and given its mode back.
     */
    static Usage measureAndSync(Path dir) throws IOException {
        return walk(dir, true);
    }

    /** Measures the tree under {@code dir} (as {@link #measureAndSync}, without syncing). */
    public static Usage measure(Path dir) throws IOException {
        return walk(dir, false);
    }

    private static Usage walk(Path dir, boolean sync) throws IOException {
        var walk = new Object() {
            final Set<Object> seen = new HashSet<>();
            long size;
            long inodes;

            void directory(Path d) throws IOException {
                inodes++;
                Integer restore = null;
                if (!Files.isReadable(d) || !Files.isExecutable(d)) {
                    restore = (Integer) Files.getAttribute(d, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
                    makeTraversable(d);
                }
                try {
                    List<Path> children = new ArrayList<>();
                    try (var stream = Files.newDirectoryStream(d)) {
                        stream.forEach(children::add);
                    }
                    for (Path child : children) {
                        BasicFileAttributes attrs = Files.readAttributes(child, BasicFileAttributes.class,
                                LinkOption.NOFOLLOW_LINKS);
                        if (attrs.isDirectory()) {
                            directory(child);
                        } else {
                            file(child, attrs);
                        }
                    }
                    if (sync) {
                        fsync(d);
                    }
                } finally {
                    if (restore != null) {
                        Files.setAttribute(d, "unix:mode", restore, LinkOption.NOFOLLOW_LINKS);
                    }
                }
            }

            void file(Path f, BasicFileAttributes attrs) throws IOException {
                Object key = attrs.fileKey();
                if (key != null && !seen.add(key)) {
                    return; // another name of an inode already counted and synced
                }
                inodes++;
                if (attrs.isRegularFile()) {
                    size += attrs.size();
                    if (sync) {
                        fsync(f);
                    }
                }
            }
        };
        walk.directory(dir);
        return new Usage(walk.size, walk.inodes);
    }

    /** Flushes a file or a directory (its entries) to disk. */
    static void fsync(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (AccessDeniedException e) {
            // not readable by this (non-root) process: snapshot_sync = "syncfs" covers such files too
        }
    }

    /** Deletes {@code path} and everything under it; absent is not an error. */
    public static void deleteRecursively(Path path) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if (attrs.isDirectory()) {
            makeTraversable(path);
            try (var children = Files.newDirectoryStream(path)) {
                for (Path child : children) {
                    deleteRecursively(child);
                }
            }
        }
        Files.deleteIfExists(path);
    }

    /** Lets the owner list and empty a directory a layer made read-only (matters when not running as root). */
    private static void makeTraversable(Path dir) throws IOException {
        if (!Files.isWritable(dir) || !Files.isExecutable(dir) || !Files.isReadable(dir)) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
            perms.add(PosixFilePermission.OWNER_READ);
            perms.add(PosixFilePermission.OWNER_WRITE);
            perms.add(PosixFilePermission.OWNER_EXECUTE);
            Files.setPosixFilePermissions(dir, perms);
        }
    }

    /** The error for a failed snapshot file operation: RESOURCE_EXHAUSTED when the disk is full, else INTERNAL. */
    public static SinglepullException failure(String what, IOException e) {
        String message = String.valueOf(e.getMessage());
        ErrorKind kind = message.contains("No space left on device") || message.contains("Disk quota exceeded")
                ? ErrorKind.RESOURCE_EXHAUSTED : ErrorKind.INTERNAL;
        return new SinglepullException(kind, what + ": " + e, e);
    }
}
