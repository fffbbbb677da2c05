package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a file this process creates in a layer's directory already has, so that applying a tar entry can leave out
 * the calls that would set the same again: the owner is the process's effective user and group (unless the layer
 * root is setgid, whose group new directories and files would inherit), and the permission bits are the ones asked
 * of {@code open}, less the process's umask. An owner or mode that differs is still set, as is every setuid, setgid
 * or sticky bit. Immutable.
 *
 * @param uid   the owner of new files
 * @param gid   the group of new files, or -1 when it is not known (the root is setgid)
 * @param umask the process's umask, or -1 when it could not be read (every mode is then set)
 */
record NewFileDefaults(long uid, long gid, int umask) {
    /** The defaults under {@code root}, a directory this process created and owns. */
    static NewFileDefaults under(Path root) throws IOException {
        Nodes.Attrs attrs = Nodes.lstat(root);
        boolean setgid = attrs != null && (attrs.mode() & 02000) != 0;
        return new NewFileDefaults(Integer.toUnsignedLong(PosixCalls.geteuid()),
                setgid ? -1 : Integer.toUnsignedLong(PosixCalls.getegid()), Umask.VALUE);
    }

    /** Whether a file created here is owned by {@code owner}:{@code group} without a chown. */
    boolean owns(long owner, long group) {
        return owner == uid && group == gid && gid >= 0;
    }

    /** Whether a file created with permission bits {@code mode} has them all without a chmod. */
    boolean keeps(int mode) {
        return umask >= 0 && (mode & 07000) == 0 && (mode & umask & 0777) == 0;
    }

    /** The umask, read once from {@code /proc/self/status} (Linux 4.7 and later); -1 where it is not there. */
    private static final class Umask {
        static final int VALUE = read();

        private static int read() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("Umask:")) {
                        return Integer.parseInt(line.substring("Umask:".length()).trim(), 8);
                    }
                }
            } catch (IOException | RuntimeException e) {
                return -1;
            }
            return -1;
        }
    }
}
