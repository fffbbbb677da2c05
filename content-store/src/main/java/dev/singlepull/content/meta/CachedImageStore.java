package dev.singlepull.content.meta;

import dev.singlepull.content.Digest;
import java.time.Instant;
import java.util.List;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An {@link ImageStore} that answers reads from memory. Every record is loaded once from the store beneath, and each
 * write made through this one goes to that store first and then to memory, under one lock, so memory shows what
 * the database holds, in the same order. The serving process is the only writer of its root (the root lock), so
 * nothing changes the table behind it.
 *
 * <p>Why: ListImages and ImageStatus are what kubelet and crictl ask while pulls run, and a pull's commits keep the
 * disk busy (a {@code syncfs} of the filesystem held SQLite reads for hundreds of milliseconds); from memory they
 * answer at once. An image record is about 300 bytes, so ten thousand names cost a few megabytes.
 *
 * <p>Errors of writes as the store beneath; reads fail only once the database is closed (FAILED_PRECONDITION).
 * Thread-safe: reads take no lock.
 */
final class CachedImageStore implements ImageStore {
    private final ImageStore db;
    private final Runnable ensureOpen;
    private final ReentrantLock writes = new ReentrantLock();
    /** By name, so that {@link #list()} is in name order as the database's is. */
    private final NavigableMap<String, ImageRecord> byName = new ConcurrentSkipListMap<>();

    /** Loads every record of {@code db}; {@code ensureOpen} throws once the database is closed. */
    CachedImageStore(ImageStore db, Runnable ensureOpen) {
        this.db = db;
        this.ensureOpen = ensureOpen;
        for (ImageRecord r : db.list()) {
            byName.put(r.name(), r);
        }
    }

    @Override
    public void put(ImageRecord record) {
        writes.lock();
        try {
            db.put(record);
            byName.put(record.name(), stored(record));
        } finally {
            writes.unlock();
        }
    }

    /**
     * The record as the database now holds it: read back, since the database keeps a replaced record's created time
     * and stamps missing times. Should that read fail after the write committed, the record as written stands in,
     * with the same rule for its times, rather than memory missing a record the database has.
     */
    private ImageRecord stored(ImageRecord written) {
        try {
            Optional<ImageRecord> read = db.get(written.name());
            if (read.isPresent()) {
                return read.get();
            }
        } catch (RuntimeException e) {
            // fall through: the write committed
        }
        Instant now = Instant.now();
        ImageRecord before = byName.get(written.name());
        Instant created = before != null ? before.created() : written.created() != null ? written.created() : now;
        return new ImageRecord(written.name(), written.manifestDigest(), written.configDigest(), written.size(),
                created, written.updated() != null ? written.updated() : now);
    }

    @Override
    public Optional<ImageRecord> get(String name) {
        ensureOpen.run();
        return Optional.ofNullable(byName.get(name));
    }

    @Override
    public List<ImageRecord> byConfig(Digest imageId) {
        ensureOpen.run();
        return byName.values().stream().filter(r -> r.configDigest().equals(imageId)).toList();
    }

    @Override
    public List<ImageRecord> list() {
        ensureOpen.run();
        return List.copyOf(byName.values());
    }

    @Override
    public int delete(List<String> names) {
        writes.lock();
        try {
            int removed = db.delete(names);
            names.forEach(byName::remove);
            return removed;
        } finally {
            writes.unlock();
        }
    }
}
