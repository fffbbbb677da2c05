package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

/**
 * Owner, mode and times of extracted files. Callers pass only paths they have just created or verified not to be
 * symlinks, except where a method says it does not follow them ({@link #chmod} follows a symlink: Linux has no
 * {@code lchmod}, and a symlink's mode means nothing).
 */
final class FileMeta {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private FileMeta() {
    }

    /** True if files created by this process in {@code dir} are owned by root, so tar owners can be applied. */
    static boolean runningAsRoot(Path dir) {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(dir, "unix:uid", NOFOLLOW));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** Sets owner and group without following a symlink: one {@code lchown}. */
    static void chown(Path path, long uid, long gid) throws IOException {
        PosixCalls.lchown(path, uid, gid);
    }

    /**
     * Sets the permission bits with setuid, setgid and sticky, without opening the file (device nodes and fifos
     * included). {@code path} must not be a symlink. Call after {@link #chown}: changing the owner clears setuid and
     * setgid.
     */
    static void chmod(Path path, int mode) throws IOException {
        PosixCalls.chmod(path, mode);
    }

    /**
     * Sets the modification time to the nanosecond without following a symlink or opening the file. Any time is
     * taken, before 1970 or far ahead: the kernel stores what the file system can hold and clamps the rest to its
     * first or last second (ext4: 1901 to 2446), so a time never fails an unpack. A time beyond an {@code Instant}'s
     * billion years goes as that range's end, which the kernel then clamps the same way.
     */
    static void mtime(Path path, FileTime time) throws IOException {
        if (time != null) {
            java.time.Instant instant = time.toInstant();
            PosixCalls.setMtime(path, instant.getEpochSecond(), instant.getNano());
        }
    }
}
