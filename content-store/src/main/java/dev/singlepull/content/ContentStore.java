package dev.singlepull.content;

import dev.singlepull.content.meta.MetadataDb;

/**
 * A content-addressed blob store. Data enters through an {@link Ingester} as an ingest ({@code content/ingest/}),
 * visible only through the {@link IngestManager} while partial; {@link ContentWriter#commit()} verifies it and moves
 * it atomically into {@code content/blobs/<alg>/<hex>}, where {@link ContentProvider} and {@link ContentManager}
 * see it. Committed blobs are immutable. Thread-safe.
 */
public interface ContentStore extends ContentProvider, ContentManager, Ingester, IngestManager, AutoCloseable {
    /** The metadata database this store keeps its labels in, shared with the other record kinds. */
    MetadataDb metadata();

    /**
     * Bytes and inodes used by committed blobs and ingests. Cheap: committed blobs are counted as they come and go,
     * so only the ingests are measured on each call.
     */
    Usage usage();

    /**
     * Checks the store against itself: every committed blob must hash to its name and every file under
     * {@code blobs/} must be a blob (problems); labels of a blob that is gone and ingests are reported as leftovers.
     * With {@code repair}, corrupt blobs and stray files are deleted (with their labels), and labels of missing
     * blobs dropped; ingests are kept for resumption. Reads every blob: takes as long as reading the store.
     */
    CheckResult check(boolean repair);

    @Override
    void close();

    /** Disk usage of a part of the root. */
    record Usage(long bytes, long inodes) {
        public Usage plus(Usage other) {
            return new Usage(bytes + other.bytes, inodes + other.inodes);
        }
    }
}
