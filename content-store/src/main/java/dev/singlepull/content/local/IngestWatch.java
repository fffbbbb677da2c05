package dev.singlepull.content.local;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * How far the live writers of a store have written, for the streams that follow their ingests. A writer registers
 * when it opens ({@link #started}), reports each write ({@link #advanced}) and its end ({@link #ended}); a follower
 * waits in {@link #await} for bytes beyond what it has read or for the end. One lock and one condition for the whole
 * store: writes are few (one per copy buffer) and followers fewer. Thread-safe.
 */
final class IngestWatch {
    /** How long a follower waits for a writer before it looks again whether the blob was committed meanwhile. */
    static final long NO_WRITER_RECHECK_MS = 20;

    /** One writer's ingest, as followers see it. Fields guarded by the watch's lock. */
    static final class Live {
        private final Path data;
        private long written;
        private End end;

        private Live(Path data, long written) {
            this.data = data;
            this.written = written;
        }

        /** The ingest's data file (renamed into the blobs on commit: an open channel stays valid). */
        Path data() {
            return data;
        }
    }

    enum End { COMMITTED, ABANDONED }

    /** What a follower at some position may do next. */
    sealed interface Step {
        /** Bytes up to {@code upTo} of {@code live}'s data file are written. */
        record Read(Live live, long upTo) implements Step { }

        /** The writer followed committed and everything it wrote has been read: read the rest from the blob. */
        record Committed() implements Step { }

        /** The writer followed ended without committing. */
        record Abandoned() implements Step { }

        /** No writer of the ref is live (none yet, or one came and went). */
        record NoWriter() implements Step { }

        /** The follower was closed. */
        record Closed() implements Step { }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, Live> live = new HashMap<>(); // by ingest ref, guarded by lock

    /** A writer of {@code ref} opened, with {@code offset} bytes already in {@code data} (a resumed ingest). */
    Live started(String ref, Path data, long offset) {
        Live l = new Live(data, offset);
        lock.lock();
        try {
            live.put(ref, l);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        return l;
    }

    /** {@code l}'s writer has written {@code offset} bytes in all. */
    void advanced(Live l, long offset) {
        lock.lock();
        try {
            l.written = offset;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** {@code l}'s writer ended; the first end reported counts (a commit closes its writer too). */
    void ended(String ref, Live l, End end) {
        lock.lock();
        try {
            if (l.end == null) {
                l.end = end;
            }
            live.remove(ref, l);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every waiting follower, so that one closed from another thread notices. */
    void wake() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until the follower of {@code ref}, which has read {@code position} bytes of {@code following} (null:
     * no writer followed yet), can do something. Returns {@link Step.NoWriter} after a short wait when no writer of
     * {@code ref} is live and none is followed, so that the caller can look at the committed blobs.
     */
    Step await(String ref, Live following, long position, BooleanSupplier closed) throws InterruptedException {
        lock.lock();
        try {
            while (true) {
                if (closed.getAsBoolean()) {
                    return new Step.Closed();
                }
                Live l = following != null ? following : live.get(ref);
                if (l == null) {
                    changed.await(NO_WRITER_RECHECK_MS, TimeUnit.MILLISECONDS);
                    return closed.getAsBoolean() ? new Step.Closed() : new Step.NoWriter();
                }
                if (l.written > position) {
                    return new Step.Read(l, l.written);
                }
                if (l.end == End.COMMITTED) {
                    return new Step.Committed();
                }
                if (l.end == End.ABANDONED) {
                    return following != null ? new Step.Abandoned() : new Step.NoWriter();
                }
                changed.await();
            }
        } finally {
            lock.unlock();
        }
    }
}
