package dev.singlepull.content;

import java.io.Closeable;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Writes one blob into its ingest, hashing as it goes. Not thread-safe: one writer, one thread at a time.
 *
 * <p>Lifecycle: write bytes from {@link #offset()} on, then {@link #commit()}. {@link #close()} without a commit
 * keeps the ingest for a later writer of the same ref to resume.
 */
public interface ContentWriter extends Closeable {
    /** Bytes {@code start} (inclusive) to {@code end} (exclusive) of a blob. */
    record Extent(long start, long end) {
        public Extent {
            if (start < 0 || end < start) {
                throw new IllegalArgumentException("extent " + start + "-" + end);
            }
        }

        public long length() {
            return end - start;
        }
    }

    /** Bytes already in the ingest: a resumed download continues from here. */
    long offset();

    /**
     * Extents beyond {@link #offset()} that are already written but not yet joined to the prefix: the parts an earlier
     * writer of the ingest wrote out of order before it was closed or its process died. A resumed download fetches
     * only the gaps between them (with {@link #writeAt}); the writer hashes them once the prefix reaches them. In
     * order, disjoint; empty for an ingest written in order.
     */
    List<Extent> written();

    /** Appends {@code bytes} at {@link #offset()}. */
    void write(ByteBuffer bytes);

    /**
     * Writes {@code bytes} at {@code position}, for a blob downloaded as parallel ranges: the one method that may
     * be called from several threads at once (never together with {@link #write}, {@link #commit} or
     * {@link #close}). Parts must lie at or beyond {@link #offset()} and must not overlap. The writer hashes the
     * contiguous prefix as it grows, reading back what the parts wrote, so {@link #offset()} and the streams that
     * follow the ingest advance only over bytes without gaps; a close without commit keeps just that prefix for
     * resumption.
     */
    void writeAt(long position, ByteBuffer bytes);

    /** A view of this writer as an OutputStream (closing it does not close the writer). */
    OutputStream asOutputStream();

    /**
     * Verifies size and digest, makes the data durable and moves it into place atomically. A blob that is already
     * committed is success. On a size or digest mismatch the ingest is deleted and DATA_LOSS is thrown; no committed
     * blob is touched. Commit always closes the writer.
     */
    ContentInfo commit();

    /** Releases the writer; an uncommitted ingest stays for resumption. */
    @Override
    void close();
}
