package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;

/**
 * File-system nodes of every type, read and copied with their metadata, never following a symlink: the stat of a
 * node, its extended attributes, and a copy of one node (regular file, symlink, device node, fifo) to a path that
 * does not exist yet. Used to copy a file up from a lower layer and to flatten layers. Stateless.
 */
final class Nodes {
    static final int S_IFMT = 0170000;
    static final int S_IFREG = 0100000;
    static final int S_IFDIR = 0040000;
    static final int S_IFLNK = 0120000;
    static final int S_IFSOCK = 0140000;
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
    private static final String STAT = "unix:mode,uid,gid,rdev,lastModifiedTime,nlink,fileKey,size";

    private Nodes() {
    }

    /**
     * What {@code lstat} says of a node.
     *
     * @param mode the whole {@code st_mode}: type and permission bits
     */
    record Attrs(int mode, int uid, int gid, long rdev, FileTime mtime, int nlink, Object fileKey, long size) {
        int type() {
            return mode & S_IFMT;
        }

        int permissions() {
            return mode & 07777;
        }

        boolean isDirectory() {
            return type() == S_IFDIR;
        }

        boolean isRegular() {
            return type() == S_IFREG;
        }

        boolean isSymlink() {
            return type() == S_IFLNK;
        }

        boolean isCharDevice() {
            return type() == PosixCalls.S_IFCHR;
        }

        boolean isBlockDevice() {
            return type() == PosixCalls.S_IFBLK;
        }

        boolean isFifo() {
            return type() == PosixCalls.S_IFIFO;
        }
    }

    /** The node at {@code path} (a symlink itself, not its target); null if there is none. */
    static Attrs lstat(Path path) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(path, STAT, NOFOLLOW);
        } catch (NoSuchFileException e) {
            return null;
        }
        return new Attrs((Integer) a.get("mode"), (Integer) a.get("uid"), (Integer) a.get("gid"),
                (Long) a.get("rdev"), (FileTime) a.get("lastModifiedTime"), (Integer) a.get("nlink"),
                a.get("fileKey"), (Long) a.get("size"));
    }

    /**
     * Sets one extended attribute unless policy or the file system says no, which is counted in {@code skips}:
     * {@code trusted.overlay.*} is never set (it is the overlay convention's own), and only {@code user.*} is set
     * when not running as root. A full disk fails.
     */
    static void setXattr(Path path, String name, byte[] value, boolean asRoot, Skips skips) throws IOException {
        if (name.startsWith(Whiteouts.OVERLAY_XATTRS)) {
            skips.add(Skips.XATTR_RESERVED);
            return;
        }
        if (!asRoot && !name.startsWith("user.")) {
            skips.add(Skips.XATTR_NOT_ROOT);
            return;
        }
        try {
            PosixCalls.lsetxattr(path, name, value);
        } catch (PosixCalls.Errno e) {
            if (e.notPermitted() || e.errno() == PosixCalls.E2BIG || e.errno() == PosixCalls.ERANGE
                    || e.errno() == 22 /* EINVAL: a name the kernel refuses */) {
                skips.add(Skips.XATTR_REFUSED);
                return;
            }
            throw e;
        }
    }

    /**
     * Gives {@code to} the extended attributes of {@code from} (except {@code trusted.overlay.*}); with
     * {@code replace}, also removes those of {@code to} that {@code from} lacks.
     */
    static void copyXattrs(Path from, Path to, boolean asRoot, boolean replace, Skips skips) throws IOException {
        List<String> names = PosixCalls.llistxattr(from);
        if (replace) {
            for (String existing : PosixCalls.llistxattr(to)) {
                if (!names.contains(existing) && !existing.startsWith(Whiteouts.OVERLAY_XATTRS)
                        && (asRoot || existing.startsWith("user."))) {
                    PosixCalls.lremovexattr(to, existing);
                }
            }
        }
        for (String name : names) {
            if (name.startsWith(Whiteouts.OVERLAY_XATTRS)) {
                continue; // a layer's own whiteout bookkeeping, never content
            }
            byte[] value;
            try {
                value = PosixCalls.lgetxattr(from, name);
            } catch (PosixCalls.Errno e) {
                if (asRoot || e.errno() != PosixCalls.EACCES) {
                    throw e;
                }
                value = readable(from, lstat(from), false, () -> PosixCalls.lgetxattr(from, name)); // mode 000
            }
            if (value != null) {
                setXattr(to, name, value, asRoot, skips);
            }
        }
    }

    /**
     * Copies the non-directory node {@code from} (whose stat is {@code attrs}) to {@code to}, which must not exist,
     * with its owner (when running as root), extended attributes, mode and mtime. A device node is skipped when not
     * running as root or not permitted, a socket always; skips are counted and return false.
     */
    static boolean copy(Path from, Attrs attrs, Path to, boolean asRoot, Skips skips) throws IOException {
        switch (attrs.type()) {
            case S_IFREG -> readable(from, attrs, asRoot, () -> {
                copyContent(from, to);
                return null;
            });
            case S_IFLNK -> Files.createSymbolicLink(to, Files.readSymbolicLink(from));
            case PosixCalls.S_IFCHR, PosixCalls.S_IFBLK -> {
                if (!asRoot) {
                    skips.add(Skips.DEVICE_NOT_ROOT);
                    return false;
                }
                try {
                    PosixCalls.mknod(to, attrs.type(), attrs.permissions(), PosixCalls.major(attrs.rdev()),
                            PosixCalls.minor(attrs.rdev()));
                } catch (PosixCalls.Errno e) {
                    if (e.notPermitted()) {
                        skips.add(Skips.DEVICE_NOT_PERMITTED);
                        return false;
                    }
                    throw e;
                }
            }
            case PosixCalls.S_IFIFO -> PosixCalls.mkfifo(to, attrs.permissions());
            case S_IFSOCK -> {
                skips.add(Skips.SOCKET);
                return false;
            }
            default -> throw new IOException("cannot copy " + from + ": unexpected file type 0"
                    + Integer.toOctalString(attrs.type()));
        }
        finishCopy(from, attrs, to, asRoot, skips);
        return true;
    }

    /** Work that reads a node. */
    interface Read<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code read} on {@code path}, a node of a layer this process owns but may not read as it is (mode 000, a
     * directory without r or x: a layer can ask for that, and an ordinary user is bound by it): the owner's read (and
     * for a directory, search) bit is added for the read and the mode put back after. Running as root, or with the
     * bits already there, it just runs.
     */
    static <T> T readable(Path path, Attrs attrs, boolean asRoot, Read<T> read) throws IOException {
        int needed = attrs.isDirectory() ? 0500 : 0400;
        if (asRoot || (attrs.permissions() & needed) == needed) {
            return read.run();
        }
        FileMeta.chmod(path, attrs.permissions() | needed);
        try {
            return read.run();
        } finally {
            FileMeta.chmod(path, attrs.permissions());
        }
    }

    /** Owner, extended attributes, mode and mtime of {@code from} onto the freshly made {@code to}. */
    static void finishCopy(Path from, Attrs attrs, Path to, boolean asRoot, Skips skips) throws IOException {
        if (asRoot) {
            FileMeta.chown(to, Integer.toUnsignedLong(attrs.uid()), Integer.toUnsignedLong(attrs.gid()));
        }
        copyXattrs(from, to, asRoot, false, skips);
        if (!attrs.isSymlink()) {
            FileMeta.chmod(to, attrs.permissions());
        }
        FileMeta.mtime(to, attrs.mtime());
    }

    /** Deletes {@code path} and, for a directory, everything under it; absent is not an error. Follows nothing. */
    static void delete(Path path) throws IOException {
        Attrs attrs = lstat(path);
        if (attrs == null) {
            return;
        }
        if (attrs.isDirectory()) {
            if ((attrs.permissions() & 0700) != 0700) {
                FileMeta.chmod(path, attrs.permissions() | 0700); // a read-only directory of a layer, when not root
            }
            List<Path> children;
            try (var stream = Files.newDirectoryStream(path)) {
                children = new java.util.ArrayList<>();
                stream.forEach(children::add);
            }
            for (Path child : children) {
                delete(child);
            }
        }
        Files.delete(path);
    }

    /** Files at least this big are copied block by block, all-zero blocks left as holes. */
    private static final long SPARSE_COPY_ABOVE = 64 * 1024;
    private static final int HOLE_BLOCK = 4096;
    private static final byte[] ZEROS = new byte[HOLE_BLOCK];

    private static void copyContent(Path from, Path to) throws IOException {
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
             FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                     LinkOption.NOFOLLOW_LINKS)) {
            long size = in.size();
            if (size < SPARSE_COPY_ABOVE) {
                long position = 0;
                while (position < size) {
                    long n = in.transferTo(position, size - position, out);
                    if (n <= 0) {
                        break; // the file shrank meanwhile: committed snapshots never do
                    }
                    position += n;
                }
                return;
            }
            copySparse(in, out, size);
        }
    }

    /** Copies {@code size} bytes, leaving every all-zero block as a hole (the holes of a sparse file stay holes). */
    private static void copySparse(FileChannel in, FileChannel out, long size) throws IOException {
        var buffer = java.nio.ByteBuffer.allocate(64 * HOLE_BLOCK);
        byte[] bytes = buffer.array();
        long position = 0;
        while (position < size) {
            buffer.clear();
            int n = in.read(buffer, position);
            if (n <= 0) {
                break;
            }
            for (int at = 0; at < n; at += HOLE_BLOCK) {
                int length = Math.min(HOLE_BLOCK, n - at);
                if (java.util.Arrays.mismatch(bytes, at, at + length, ZEROS, 0, length) >= 0) {
                    out.write(java.nio.ByteBuffer.wrap(bytes, at, length), position + at);
                }
            }
            position += n;
        }
        if (out.size() < position) {
            out.write(java.nio.ByteBuffer.wrap(new byte[1]), position - 1); // a trailing hole still counts
        }
    }
}
