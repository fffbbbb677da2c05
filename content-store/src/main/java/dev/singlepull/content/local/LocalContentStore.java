package dev.singlepull.content.local;

import dev.singlepull.content.ContentStore;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.meta.ResourceCollector;
import java.nio.file.Path;
import java.time.Clock;

/**
 * The content store on the local disk, under the singlepull root:
 * {@code content/blobs/<alg>/<hex>} for committed blobs (read-only files) and {@code content/ingest/<sha256(ref)>/}
 * for partial ones ({@code data}, {@code ref}, {@code expected}, {@code total}, {@code startedat}). Labels are kept
 * in the {@link MetadataDb}, which stays the caller's to close.
 *
 * <p>Writers. {@link ContentStore#writer} locks the ref (a second writer of the same ref while one is open fails
 * fast with UNAVAILABLE, naming the ref and how long it has been locked) and creates or resumes the ingest: the data
 * already there is re-hashed and {@code offset()} is its length. An ingest that promised another digest, or another
 * known size, is started over. If the expected blob is already committed no ingest is made: the writer's
 * {@code offset()} is the blob's size, bytes written to it are discarded, and {@code commit()} returns the committed
 * blob's info. Writing past a known size fails at once with DATA_LOSS.
 *
 * <p>Commit: fsync the data; check the size, then the digest (on a mismatch the ingest is deleted and DATA_LOSS names
 * the ref, the expected and the actual value); if the blob exists meanwhile, delete the ingest and return it;
 * otherwise stamp the commit time as the file's mtime, make it read-only (0444), rename it atomically into
 * {@code blobs/}, fsync the directory, delete the ingest. Commit always closes the writer and releases its ref.
 *
 * <p>Other errors: NOT_FOUND from {@code open} and {@code label} of a blob that is not committed; UNAVAILABLE from
 * {@code abort} of a ref whose writer is open ({@code abortStale} skips those); RESOURCE_EXHAUSTED when the disk is
 * full; INVALID_ARGUMENT for a missing ref or digest; FAILED_PRECONDITION for {@code writer} after close; INTERNAL for
 * other I/O failures. On open, ingests that were cut short while being created are removed; every other ingest is
 * kept for resumption. Thread-safe.
 */
public final class LocalContentStore {
    private LocalContentStore() { }

    /** Opens the store under {@code root} (the singlepull root), creating its directories. */
    public static ContentStore open(Path root, MetadataDb db) {
        return open(root, db, Clock.systemUTC());
    }

    /** As {@link #open(Path, MetadataDb)}, on {@code clock} for commit times, lock ages and stale ingests. */
    static ContentStore open(Path root, MetadataDb db, Clock clock) {
        return LocalStore.open(root, db, clock, true);
    }

    /**
     * Opens the store for inspection ({@code singlepull fsck}): as {@link #open(Path, MetadataDb)}, but what a crash
     * left under {@code content/ingest/} stays as it is, to be reported.
     */
    public static ContentStore openWithoutRecovery(Path root, MetadataDb db) {
        return LocalStore.open(root, db, Clock.systemUTC(), false);
    }

    /**
     * The garbage collector's resource collector of kind {@code content} for {@code store}: candidates are every
     * committed blob's digest; removing one deletes the blob and its labels and returns its size.
     */
    public static ResourceCollector collectorFor(ContentStore store) {
        return new ContentCollector(store);
    }
}
