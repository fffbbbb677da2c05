package dev.singlepull.content.meta;

import dev.singlepull.content.Digest;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The embedded metadata database under the root ({@code meta.db}, SQLite in WAL mode): image records, snapshot
 * records, content labels and leases. Readers never wait behind a writer; writes are short transactions, never held
 * across network or disk-heavy work. The schema is versioned and migrated on open. Thread-safe.
 */
public interface MetadataDb extends AutoCloseable {

    /** Opens (creating or migrating) the database file. */
    static MetadataDb open(Path file) {
        return SqliteMetadataDb.open(file);
    }

    /**
     * Opens an existing database file read-only, for readers beside a service that may be writing it (SQLite's WAL
     * mode lets them read the last committed state without blocking it): no file is created, no schema migrated, no
     * lock taken. Every write fails with FAILED_PRECONDITION. NOT_FOUND if the file does not exist;
     * FAILED_PRECONDITION if its schema version is not the one this code writes.
     */
    static MetadataDb openReadOnly(Path file) {
        return SqliteMetadataDb.openReadOnly(file);
    }

    ImageStore images();

    SnapshotStore snapshots();

    Leases leases();

    /** The snapshots a container runtime made through singlepull's snapshots service. */
    RuntimeSnapshotStore runtimeSnapshots();

    /** Labels of a blob; empty if it has none. */
    Map<String, String> labels(Digest digest);

    /** Sets (null value: removes) labels of a blob. */
    void setLabels(Digest digest, Map<String, String> labels);

    /** Removes every label of a blob. */
    void deleteLabels(Digest digest);

    /**
     * Everything reachable from the roots, read in one transaction so the view is consistent: image records and
     * live leases are the roots; content labels {@code containerd.io/gc.ref.content.*} lead to blobs,
     * {@code containerd.io/gc.ref.snapshot.*} to snapshots, and a snapshot's parent to its parent. Every runtime
     * snapshot is a root too, so that no layer under a container's snapshot is freed.
     */
    Reachable reachable();

    /**
     * What each image record reaches, by record name: the same walk as {@link #reachable()}, from that record's
     * manifest and config alone. For consistency checks: every digest in it should be a committed blob and every
     * snapshot key a committed snapshot.
     */
    Map<String, Reachable> reachableByImage();

    /** Every digest that has labels (committed blobs, and the leftovers of a blob deletion that a crash cut short). */
    Set<Digest> labelledDigests();

    /**
     * Makes every write committed so far durable against power loss (one fsync). Call it before an irreversible
     * step on disk that relies on those writes, such as deleting what they made unreachable.
     */
    void sync();

    /** The schema version this database is at. */
    int schemaVersion();

    @Override
    void close();

    /** The marked sets of a collection. */
    record Reachable(Set<Digest> content, Set<String> snapshots) { }

    /** Convenience: the image records with the given config digest, by name. */
    default List<ImageRecord> imagesOf(Digest configDigest) {
        return images().byConfig(configDigest);
    }

    /** Convenience: the snapshot record of a ChainID. */
    default Optional<SnapshotRecord> snapshot(String key) {
        return snapshots().get(key);
    }
}
