package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * Owner, mode and times of extracted files. Callers pass only paths they have just created or verified not to be
 * symlinks, except where a method says it does not follow them: the JDK's {@code unix:mode} follows a symlink even
 * with {@link LinkOption#NOFOLLOW_LINKS}.
 */
final class FileMeta {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
    private static final PosixFilePermission[] BITS = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
    };
    /** Whether the JDK lets us set the whole mode, setuid/setgid/sticky included ({@code unix:mode}). */
    private static volatile boolean fullModeSupported = true;

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

    /** Sets the owner without following a symlink (lchown). */
    static void chown(Path path, long uid, long gid) throws IOException {
        Files.setAttribute(path, "unix:uid", (int) uid, NOFOLLOW);
        Files.setAttribute(path, "unix:gid", (int) gid, NOFOLLOW);
    }

    /**
     * Sets the permission bits and, where the JDK supports it, setuid, setgid and sticky. {@code path} must not be a
     * symlink. Call after {@link #chown}: changing the owner clears setuid and setgid.
     */
    static void chmod(Path path, int mode) throws IOException {
        if (fullModeSupported) {
            try {
                Files.setAttribute(path, "unix:mode", mode & 07777, NOFOLLOW);
                return;
            } catch (UnsupportedOperationException | IllegalArgumentException e) {
                fullModeSupported = false; // rwx only from now on
            }
        }
        Files.setPosixFilePermissions(path, permissions(mode));
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
        for (int bit = 0; bit < BITS.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                out.add(BITS[bit]);
            }
        }
        return out;
    }

    /** Sets the modification time without following a symlink. */
    static void mtime(Path path, FileTime time) throws IOException {
        if (time != null) {
            Files.getFileAttributeView(path, BasicFileAttributeView.class, NOFOLLOW).setTimes(time, null, null);
        }
    }
}
