package dev.singlepull.cri.server;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Keeps a second singlepull process off a root: an exclusive lock on {@code <root>/singlepull.lock}, held for the
 * life of the process and released by the kernel if it dies.
 */
public final class RootLock implements AutoCloseable {
    static final String FILE = "singlepull.lock";
    private final FileChannel channel;
    private final FileLock lock;

    private RootLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** The root is locked by another process (or another opener in this one). Kind FAILED_PRECONDITION. */
    public static final class InUseException extends SinglepullException {
        private final Path root;
        private final String holder;

        InUseException(Path root, String holder) {
            super(ErrorKind.FAILED_PRECONDITION, "root " + root + " is in use by another singlepull process"
                    + (holder.isEmpty() ? "" : " (pid " + holder + ")") + "; stop it or choose another --root");
            this.root = root;
            this.holder = holder;
        }

        public Path root() {
            return root;
        }

        /** The holder's pid as it wrote it into the lock file, or empty if unknown. */
        public String holder() {
            return holder;
        }
    }

    /** Takes the lock; {@link InUseException} naming the holder's pid when another process has it. */
    public static RootLock acquire(Path root) {
        Path file = root.resolve(FILE);
        try {
            Files.createDirectories(root);
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                String holder = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
                channel.close();
                throw new InUseException(root, holder);
            }
            channel.truncate(0);
            channel.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
            return new RootLock(channel, lock);
        } catch (IOException e) {
            throw new SinglepullException(ErrorKind.UNAVAILABLE, "cannot lock root " + root + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the kernel releases it with the process anyway
        }
    }
}
