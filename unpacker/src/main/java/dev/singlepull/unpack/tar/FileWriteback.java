package dev.singlepull.unpack.tar;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * A {@link WriteBehind} that starts each reported file's writeback ({@link PosixCalls#startWriteback}) on one daemon
 * platform thread, so the unpacking thread never waits for the disk's request queue. Files are taken in the order
 * they were written. When the queue is full, a report is dropped: its pages are written by the commit's sync, as
 * they would be without this class. Empty files have no pages and are not queued. One per process; thread-safe.
 */
final class FileWriteback implements WriteBehind {
    private static final System.Logger LOG = System.getLogger(FileWriteback.class.getName());
    private static final int QUEUE = 16_384;
    private static final boolean LINUX = System.getProperty("os.name", "").toLowerCase(Locale.ROOT)
            .contains("linux");

    private final BlockingQueue<Path> queue = new ArrayBlockingQueue<>(QUEUE);

    private FileWriteback() {
        Thread.ofPlatform().daemon().name("writeback").start(this::run);
    }

    private static final class Holder {
        static final FileWriteback SHARED = new FileWriteback();
    }

    static boolean available() {
        return LINUX;
    }

    static FileWriteback shared() {
        return Holder.SHARED;
    }

    @Override
    public void written(Path file, long bytes) {
        if (bytes > 0) {
            queue.offer(file);
        }
    }

    private void run() {
        boolean warned = false;
        while (true) {
            Path file;
            try {
                file = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                PosixCalls.startWriteback(file);
            } catch (PosixCalls.Errno e) {
                // gone already (a later entry replaced it, a failed layer was discarded) or not ours to open: the
                // commit's sync covers what is left
                if (!warned && e.errno() != PosixCalls.ENOENT) {
                    warned = true;
                    LOG.log(System.Logger.Level.DEBUG, "cannot start writeback early: " + e.getMessage());
                }
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "early writeback is off: " + e);
                queue.clear();
                return;
            }
        }
    }
}
