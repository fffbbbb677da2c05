package dev.singlepull.content.local;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The writer handed out when the expected blob is already committed: there is nothing to write. {@link #offset()}
 * is the blob's size; bytes written are discarded; {@link #commit()} returns the committed blob's info.
 *
 * <p>Errors: {@link #commit()} throws DATA_LOSS if the caller promised a size other than the committed blob's, and
 * NOT_FOUND if the blob was deleted since the writer was opened (write it again). FAILED_PRECONDITION after commit or
 * close. Not thread-safe. Holds its ref's lock until commit or close, like any writer.
 */
final class CommittedBlobWriter implements ContentWriter {
    private final String ref;
    private final ContentInfo info;
    private final long total;
    private final Function<Digest, Optional<ContentInfo>> committed;
    private final RefLocks.Held lock;
    private boolean closed;

    CommittedBlobWriter(String ref, ContentInfo info, long total, Function<Digest, Optional<ContentInfo>> committed,
                        RefLocks.Held lock) {
        this.ref = ref;
        this.info = info;
        this.total = total;
        this.committed = committed;
        this.lock = lock;
    }

    @Override
    public long offset() {
        return info.size();
    }

    @Override
    public List<Extent> written() {
        return List.of();
    }

    @Override
    public void write(ByteBuffer bytes) {
        ensureOpen();
        bytes.position(bytes.limit());
    }

    @Override
    public void writeAt(long position, ByteBuffer bytes) {
        write(bytes);
    }

    @Override
    public OutputStream asOutputStream() {
        return new WriterOutputStream(this);
    }

    @Override
    public ContentInfo commit() {
        ensureOpen();
        try {
            if (total >= 0 && total != info.size()) {
                throw SinglepullException.dataLoss("ingest '" + ref + "' for " + info.digest() + ": size mismatch: "
                        + "expected " + total + " bytes, the committed blob has " + info.size());
            }
            return committed.apply(info.digest()).orElseThrow(() -> SinglepullException.notFound("blob "
                    + info.digest() + " was deleted after the writer of ingest '" + ref + "' opened; write it again"));
        } finally {
            close();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw SinglepullException.failedPrecondition("writer of ingest '" + ref + "' is closed");
        }
    }

    @Override
    public void close() {
        closed = true;
        lock.close();
    }
}
