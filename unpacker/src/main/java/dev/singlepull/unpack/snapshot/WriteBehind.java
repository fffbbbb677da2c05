package dev.singlepull.unpack.snapshot;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Starts writeback while layers are written, so that the {@code syncfs} of each commit finds little left to write.
 * The kernel starts flushing dirty pages on its own only past {@code dirty_background_ratio} of memory (gigabytes on
 * a node) or after {@code dirty_expire_centisecs} (30 s), so without this a layer of a few hundred megabytes reaches
 * its commit with all of it still to write, and the disk idles while the layer unpacks. While any staging directory
 * is open, one daemon thread calls {@code syncfs} on the snapshot filesystem, pausing {@link #PAUSE_MS} between calls:
 * the disk writes while the unpack goes on, and the commit's own {@code syncfs}, which alone makes a snapshot
 * durable, waits only for the last moments' writes. Only for {@link SnapshotSync#SYNCFS}. Thread-safe.
 */
final class WriteBehind {
    private static final System.Logger LOG = System.getLogger(WriteBehind.class.getName());
    /** Between two background flushes; one flush of what little became dirty meanwhile takes a few ms. */
    static final long PAUSE_MS = 100;

    private final Path dir;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Set<Path> writing = new HashSet<>(); // guarded by lock
    private Thread flusher; // guarded by lock
    private boolean failed; // guarded by lock: a failure is logged once

    /** Flushes the filesystem that holds {@code dir}. */
    WriteBehind(Path dir) {
        this.dir = dir;
    }

    /** A staging directory is being written. */
    void started(Path staging) {
        lock.lock();
        try {
            writing.add(staging);
            if (flusher == null) {
                flusher = Thread.ofPlatform().daemon().name("snapshot-write-behind").start(this::run);
            }
            work.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A staging directory was committed or aborted; unknown ones are ignored. */
    void ended(Path staging) {
        lock.lock();
        try {
            writing.remove(staging);
        } finally {
            lock.unlock();
        }
    }

    /** Whether a staging directory is being written now (for tests). */
    boolean active() {
        lock.lock();
        try {
            return !writing.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        try {
            while (true) {
                lock.lock();
                try {
                    while (writing.isEmpty()) {
                        work.await();
                    }
                } finally {
                    lock.unlock();
                }
                flush();
                TimeUnit.MILLISECONDS.sleep(PAUSE_MS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void flush() {
        try {
            FileSystemSync.syncFileSystemOf(dir);
        } catch (IOException | RuntimeException e) {
            lock.lock();
            try {
                if (!failed) {
                    failed = true; // the commit's own syncfs reports what matters; this only saves time
                    LOG.log(Level.WARNING, "background writeback of " + dir + " failed; commits flush on their own", e);
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
