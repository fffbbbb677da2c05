package dev.singlepull.unpack.tar;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The few POSIX calls the JDK does not offer, as Foreign Function &amp; Memory downcalls into the C library:
 * {@code mknod}, {@code mkfifo}, {@code chmod} and {@code utimensat} that work on device nodes and fifos without
 * opening them, {@code lchown} setting owner and group in one call, and the no-follow extended attribute calls {@code lsetxattr}, {@code lgetxattr},
 * {@code llistxattr}, {@code lremovexattr}. None but {@code chmod} follows a symlink in the last path component. Failures are {@link Errno} exceptions carrying the C {@code errno}.
 * Paths are encoded as the JDK encodes file names ({@code sun.jnu.encoding}), so both name the same file.
 * Stateless and thread-safe; Linux only.
 */
final class PosixCalls {
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EACCES = 13;
    static final int EEXIST = 17;
    static final int E2BIG = 7;
    static final int ERANGE = 34;
    static final int ENODATA = 61;
    static final int EOPNOTSUPP = 95;

    static final int S_IFIFO = 0010000;
    static final int S_IFCHR = 0020000;
    static final int S_IFBLK = 0060000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final Charset PATHS = pathCharset();

    private static final MethodHandle MKNOD = downcall("mknod",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MKFIFO = downcall("mkfifo", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LSETXATTR = downcall("lsetxattr",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle LGETXATTR = downcall("lgetxattr",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
    private static final MethodHandle LREMOVEXATTR = downcall("lremovexattr",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle LLISTXATTR = downcall("llistxattr",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG));
    private static final MethodHandle CHMOD = downcall("chmod", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LCHOWN = downcall("lchown",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle UTIMENSAT = downcall("utimensat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final long UTIME_OMIT = (1L << 30) - 2;
    private static final MethodHandle GETEUID = LINKER.downcallHandle(
            LIBC.find("geteuid").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETEGID = LINKER.downcallHandle(
            LIBC.find("getegid").orElseThrow(), FunctionDescriptor.of(JAVA_INT));

    private PosixCalls() {
    }

    /** A failed call: the C function, the path and the {@code errno}. */
    static final class Errno extends IOException {
        private static final long serialVersionUID = 1L;
        private final int errno;

        Errno(String call, Path path, int errno) {
            super(call + "(" + path + ") failed: " + name(errno));
            this.errno = errno;
        }

        int errno() {
            return errno;
        }

        /** True for the errors that mean "not permitted here" rather than a broken file system. */
        boolean notPermitted() {
            return errno == EPERM || errno == EACCES || errno == EOPNOTSUPP;
        }
    }

    /** The effective user id of this process. */
    static int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("geteuid failed", t);
        }
    }

    /** The effective group id of this process. */
    static int getegid() {
        try {
            return (int) GETEGID.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("getegid failed", t);
        }
    }

    /** Linux {@code makedev}. */
    static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8)
                | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }

    /** Linux {@code major} of a {@code dev_t}. */
    static long major(long dev) {
        return ((dev >>> 32) & 0xfffff000L) | ((dev >>> 8) & 0xfffL);
    }

    /** Linux {@code minor} of a {@code dev_t}. */
    static long minor(long dev) {
        return ((dev >>> 12) & 0xffffff00L) | (dev & 0xffL);
    }

    /** Creates a device node ({@code type} is {@link #S_IFCHR} or {@link #S_IFBLK}) with permission bits {@code perm}. */
    static void mknod(Path path, int type, int perm, long major, long minor) throws Errno {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) MKNOD.invokeExact(state, cString(arena, path), type | (perm & 07777),
                    makedev(major, minor));
            check(rc, state, "mknod", path);
        } catch (Errno e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mknod downcall failed", t);
        }
    }

    /**
     * Sets the permission bits, setuid, setgid and sticky included. Follows a symlink, so callers pass only paths they
     * made or checked not to be one; unlike the JDK's {@code unix:mode} it does not open the file, so it works on
     * device nodes and fifos.
     */
    static void chmod(Path path, int mode) throws Errno {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) CHMOD.invokeExact(state, cString(arena, path), mode & 07777);
            check(rc, state, "chmod", path);
        } catch (Errno e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("chmod downcall failed", t);
        }
    }

    /** Sets owner and group in one call, without following a symlink ({@code uid} and {@code gid} unsigned). */
    static void lchown(Path path, long uid, long gid) throws Errno {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) LCHOWN.invokeExact(state, cString(arena, path), (int) uid, (int) gid);
            check(rc, state, "lchown", path);
        } catch (Errno e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("lchown downcall failed", t);
        }
    }

    /** Sets the modification time (to the nanosecond, before 1970 too) without following a symlink or opening. */
    static void setMtime(Path path, long seconds, int nanos) throws Errno {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment times = arena.allocate(JAVA_LONG, 4);
            times.setAtIndex(JAVA_LONG, 0, 0);
            times.setAtIndex(JAVA_LONG, 1, UTIME_OMIT); // atime untouched
            times.setAtIndex(JAVA_LONG, 2, seconds);
            times.setAtIndex(JAVA_LONG, 3, nanos);
            int rc = (int) UTIMENSAT.invokeExact(state, AT_FDCWD, cString(arena, path), times, AT_SYMLINK_NOFOLLOW);
            check(rc, state, "utimensat", path);
        } catch (Errno e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("utimensat downcall failed", t);
        }
    }

    /** Creates a fifo with permission bits {@code perm} (before the umask). */
    static void mkfifo(Path path, int perm) throws Errno {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) MKFIFO.invokeExact(state, cString(arena, path), perm & 07777);
            check(rc, state, "mkfifo", path);
        } catch (Errno e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mkfifo downcall failed", t);
        }
    }

    /** Sets an extended attribute without following a symlink. */
    static void lsetxattr(Path path, String name, byte[] value) throws Errno {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment data = arena.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, data, JAVA_BYTE, 0, value.length);
            int rc = (int) LSETXATTR.invokeExact(state, cString(arena, path),
                    arena.allocateFrom(name, StandardCharsets.UTF_8), data, (long) value.length, 0);
            check(rc, state, "lsetxattr " + name, path);
        } catch (Errno e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("lsetxattr downcall failed", t);
        }
    }

    /** Removes an extended attribute without following a symlink; absent is not an error. */
    static void lremovexattr(Path path, String name) throws Errno {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) LREMOVEXATTR.invokeExact(state, cString(arena, path),
                    arena.allocateFrom(name, StandardCharsets.UTF_8));
            if (rc != 0 && (int) ERRNO.get(state, 0L) != ENODATA) {
                check(rc, state, "lremovexattr " + name, path);
            }
        } catch (Errno e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("lremovexattr downcall failed", t);
        }
    }

    /** An extended attribute's value without following a symlink; null if the file has no such attribute. */
    static byte[] lgetxattr(Path path, String name) throws Errno {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment cPath = cString(arena, path);
            MemorySegment cName = arena.allocateFrom(name, StandardCharsets.UTF_8);
            long size = 256;
            while (true) {
                MemorySegment buffer = arena.allocate(size);
                long n = (long) LGETXATTR.invokeExact(state, cPath, cName, buffer, size);
                if (n >= 0) {
                    return buffer.asSlice(0, n).toArray(JAVA_BYTE);
                }
                int errno = (int) ERRNO.get(state, 0L);
                if (errno == ENODATA) {
                    return null;
                }
                if (errno != ERANGE || size >= 1 << 20) {
                    throw new Errno("lgetxattr " + name, path, errno);
                }
                size *= 4;
            }
        } catch (Errno e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("lgetxattr downcall failed", t);
        }
    }

    /** The names of a file's extended attributes, without following a symlink; empty where unsupported. */
    static List<String> llistxattr(Path path) throws Errno {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment cPath = cString(arena, path);
            long size = 1024;
            while (true) {
                MemorySegment buffer = arena.allocate(size);
                long n = (long) LLISTXATTR.invokeExact(state, cPath, buffer, size);
                if (n >= 0) {
                    return names(buffer.asSlice(0, n).toArray(JAVA_BYTE));
                }
                int errno = (int) ERRNO.get(state, 0L);
                if (errno == EOPNOTSUPP) {
                    return List.of();
                }
                if (errno != ERANGE || size >= 1 << 22) {
                    throw new Errno("llistxattr", path, errno);
                }
                size *= 4;
            }
        } catch (Errno e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("llistxattr downcall failed", t);
        }
    }

    private static List<String> names(byte[] list) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < list.length; i++) {
            if (list[i] == 0) {
                if (i > start) {
                    out.add(new String(list, start, i - start, StandardCharsets.UTF_8));
                }
                start = i + 1;
            }
        }
        return out;
    }

    private static void check(int rc, MemorySegment state, String call, Path path) throws Errno {
        if (rc != 0) {
            throw new Errno(call, path, (int) ERRNO.get(state, 0L));
        }
    }

    private static MemorySegment cString(Arena arena, Path path) {
        return arena.allocateFrom(path.toString(), PATHS);
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(
                () -> new IllegalStateException("the C library has no " + name)), descriptor, CAPTURE_ERRNO);
    }

    private static Charset pathCharset() {
        try {
            return Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM (operation not permitted)";
            case ENOENT -> "ENOENT (no such file or directory)";
            case E2BIG -> "E2BIG (attribute list too long)";
            case EACCES -> "EACCES (permission denied)";
            case EEXIST -> "EEXIST (file exists)";
            case ERANGE -> "ERANGE (value too large)";
            case ENODATA -> "ENODATA (no such attribute)";
            case EOPNOTSUPP -> "EOPNOTSUPP (not supported by the file system)";
            case 28 -> "ENOSPC (No space left on device)";
            case 122 -> "EDQUOT (Disk quota exceeded)";
            case 36 -> "ENAMETOOLONG (file name too long)";
            case 22 -> "EINVAL (invalid argument)";
            default -> "errno " + errno;
        };
    }
}
