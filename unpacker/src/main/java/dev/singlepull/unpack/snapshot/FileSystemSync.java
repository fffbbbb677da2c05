package dev.singlepull.unpack.snapshot;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code syncfs(2)} through the Foreign Function and Memory API: flushes every dirty page and inode of the filesystem
 * that holds a directory, in one call, instead of one {@code fsync} per file. The directory is opened with libc's
 * {@code open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)}, because the JDK does not hand out file descriptors.
 *
 * <p>Linux only; {@link #isAvailable()} is false elsewhere, or when libc lacks {@code syncfs}. Since Linux 5.8
 * {@code syncfs} reports writeback errors of the filesystem (before, it always returned 0). It syncs the whole
 * filesystem, other writers' dirty data included. Not instantiable; thread-safe.
 */
final class FileSystemSync {
    private static final Optional<Natives> NATIVES = Natives.load();

    private FileSystemSync() {
    }

    /** True if {@link #syncFileSystemOf} can be called here. */
    static boolean isAvailable() {
        return NATIVES.isPresent();
    }

    /**
     * Makes everything written to the filesystem holding {@code dir} durable. IOException naming the call and errno
     * when {@code open} or {@code syncfs} fails; IllegalStateException if not {@link #isAvailable()}.
     */
    static void syncFileSystemOf(Path dir) throws IOException {
        NATIVES.orElseThrow(() -> new IllegalStateException("syncfs is not available on this system"))
                .syncfs(dir.toAbsolutePath().toString());
    }

    /** The downcall handles, bound once. */
    private record Natives(MethodHandle open, MethodHandle syncfs, MethodHandle close, MethodHandle strerror,
                           int openFlags, StructLayout callState, VarHandle errno) {
        private static final int O_RDONLY = 0;
        private static final int O_CLOEXEC = 02000000;

        static Optional<Natives> load() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
                return Optional.empty();
            }
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                StructLayout callState = Linker.Option.captureStateLayout();
                VarHandle errno = callState.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
                Linker.Option captureErrno = Linker.Option.captureCallState("errno");
                // int open(const char *path, int flags, ...): variadic from the third argument (mode, unused here)
                MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT),
                        captureErrno, Linker.Option.firstVariadicArg(2));
                MethodHandle syncfs = linker.downcallHandle(libc.find("syncfs").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), captureErrno);
                MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                MethodHandle strerror = linker.downcallHandle(libc.find("strerror").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
                return Optional.of(new Natives(open, syncfs, close, strerror,
                        O_RDONLY | O_CLOEXEC | oDirectory(), callState, errno));
            } catch (RuntimeException | LinkageError e) {
                System.getLogger(FileSystemSync.class.getName()).log(System.Logger.Level.WARNING,
                        "syncfs is not available through the FFM API: " + e);
                return Optional.empty();
            }
        }

        /** O_DIRECTORY differs between architectures; 0 (no check) where we do not know it. */
        private static int oDirectory() {
            return switch (System.getProperty("os.arch", "")) {
                case "amd64", "x86_64", "x86", "i386", "riscv64", "s390x" -> 0200000;
                case "aarch64", "arm", "ppc64le", "ppc64" -> 040000;
                default -> 0;
            };
        }

        void syncfs(String path) throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = arena.allocate(callState);
                int fd = (int) open.invokeExact(state, arena.allocateFrom(path), openFlags, 0);
                if (fd < 0) {
                    throw failure("open", path, (int) errno.get(state, 0L));
                }
                try {
                    int rc = (int) syncfs.invokeExact(state, fd);
                    if (rc != 0) {
                        throw failure("syncfs", path, (int) errno.get(state, 0L));
                    }
                } finally {
                    int ignored = (int) close.invokeExact(fd);
                }
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("syncfs downcall failed", t);
            }
        }

        private IOException failure(String call, String path, int errnoValue) {
            String text;
            try {
                MemorySegment message = (MemorySegment) strerror.invokeExact(errnoValue);
                text = message.reinterpret(256).getString(0);
            } catch (Throwable t) {
                text = "errno " + errnoValue;
            }
            return new IOException(call + "(" + path + ") failed: " + text + " (errno " + errnoValue + ")");
        }
    }
}
