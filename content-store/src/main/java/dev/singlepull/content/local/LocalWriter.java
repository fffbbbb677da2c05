package dev.singlepull.content.local;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.ContentWriter.Extent;
import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Writes one ingest: appends to {@code data} through a {@link FileChannel} and hashes every byte as it goes. On open
 * an existing ingest of the same ref and expected digest is resumed (its data re-hashed, so the final digest covers
 * the whole blob); one that promises something else is started over.
 *
 * <p>Errors: DATA_LOSS when the bytes exceed the promised size (at write) or miss the promised size or digest (at
 * commit), after deleting the ingest; RESOURCE_EXHAUSTED when the disk is full; FAILED_PRECONDITION when used after
 * commit or close; INTERNAL for other I/O failures, which close the writer and keep the ingest for resumption.
 * Not thread-safe. Holds its ref's lock until commit or close.
 */
final class LocalWriter implements ContentWriter {
    private static final System.Logger LOG = System.getLogger(LocalWriter.class.getName());
    private static final int REHASH_BUFFER = 1 << 16;

    private final IngestLayout layout;
    private final Clock clock;
    private final Function<Digest, Optional<ContentInfo>> committed;
    private final BlobTotals totals;
    private final IngestDir ingest;
    private final IngestDir.Meta meta;
    private final FileChannel channel;
    private final MessageDigest hasher;
    private final RefLocks.Held lock;
    private final IngestWatch watch;
    private final IngestWatch.Live live;
    /** Bytes hashed: the contiguous prefix of the data. Written by the hashing thread, read by any. */
    private volatile long offset;
    private volatile boolean closed;
    /** Extents written beyond {@code offset} and not yet hashed, start to end; guarded by parts. */
    private final TreeMap<Long, Long> parts = new TreeMap<>();
    /** Whether a thread is hashing parts now; guarded by parts. */
    private boolean hashing;
    /** The journal of written extents: kept from the first write out of order on, since the file then has holes. */
    private final IngestExtents extents;
    /** Whether the journal is kept (it exists on disk); set once, under the journal's lock. */
    private volatile boolean journaled;

    private LocalWriter(IngestLayout layout, Clock clock, Function<Digest, Optional<ContentInfo>> committed,
                        BlobTotals totals, IngestDir ingest, IngestDir.Meta meta, FileChannel channel,
                        MessageDigest hasher, long offset, List<Extent> beyond, boolean journaled,
                        RefLocks.Held lock, IngestWatch watch) {
        this.layout = layout;
        this.clock = clock;
        this.committed = committed;
        this.totals = totals;
        this.ingest = ingest;
        this.meta = meta;
        this.channel = channel;
        this.hasher = hasher;
        this.offset = offset;
        for (Extent e : beyond) {
            parts.put(e.start(), e.end());
        }
        this.extents = ingest.extents();
        this.journaled = journaled;
        this.lock = lock;
        this.watch = watch;
        this.live = watch.started(meta.ref(), ingest.data(), offset);
    }

    /**
     * Opens (creating or resuming) the ingest of {@code ref}. The caller holds {@code lock}, which this writer
     * releases on commit or close. {@code committed} looks up committed blobs; {@code totals} learns of the blob
     * this writer commits; {@code watch} learns of every byte written, for the streams following the ingest.
     */
    static LocalWriter open(IngestLayout layout, Clock clock, Function<Digest, Optional<ContentInfo>> committed,
                            BlobTotals totals, IngestWatch watch, String ref, Digest expected, long total,
                            RefLocks.Held lock)
            throws IOException {
        IngestDir ingest = new IngestDir(layout.ingestDir(ref));
        IngestDir.Meta meta = resumableMeta(ingest, ref, expected, total).orElse(null);
        if (meta == null) {
            ingest.delete();
            meta = new IngestDir.Meta(ref, expected, total, clock.instant());
            ingest.create(meta);
        } else if (meta.total() < 0 && total >= 0) {
            ingest.writeTotal(total);
            meta = meta.withTotal(total);
        }
        FileChannel channel = FileChannel.open(ingest.data(),
                StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            MessageDigest hasher = expected.newHasher();
            IngestExtents.Known known = ingest.written();
            long offset = rehash(channel, hasher, known.prefix());
            channel.position(offset);
            return new LocalWriter(layout, clock, committed, totals, ingest, meta, channel, hasher, offset,
                    known.beyond(), known.journaled(), lock, watch);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** The ingest's description if it may be resumed by a writer promising {@code expected} and {@code total}. */
    private static Optional<IngestDir.Meta> resumableMeta(IngestDir ingest, String ref, Digest expected, long total)
            throws IOException {
        Optional<IngestDir.Meta> found = ingest.readMeta();
        if (found.isEmpty()) {
            return found;
        }
        IngestDir.Meta meta = found.get();
        long promised = total >= 0 ? total : meta.total();
        boolean same = meta.ref().equals(ref) && meta.expected().equals(expected)
                && (total < 0 || meta.total() < 0 || meta.total() == total)
                && (promised < 0 || ingest.dataSize() <= promised);
        return same ? found : Optional.empty();
    }

    /** Hashes the first {@code prefix} bytes of the file (fewer if it is shorter) and returns how many it hashed. */
    private static long rehash(FileChannel channel, MessageDigest hasher, long prefix) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(REHASH_BUFFER);
        long position = 0;
        while (position < prefix) {
            buffer.limit((int) Math.min(buffer.capacity(), prefix - position));
            int n = channel.read(buffer, position);
            if (n <= 0) {
                break;
            }
            position += n;
            buffer.flip();
            hasher.update(buffer);
            buffer.clear();
        }
        return position;
    }

    @Override
    public long offset() {
        return offset;
    }

    @Override
    public List<Extent> written() {
        synchronized (parts) {
            List<Extent> out = new ArrayList<>(parts.size());
            parts.forEach((start, end) -> out.add(new Extent(start, end)));
            return out;
        }
    }

    @Override
    public void write(ByteBuffer bytes) {
        ensureOpen();
        int length = bytes.remaining();
        if (meta.total() >= 0 && offset + length > meta.total()) {
            throw fail(SinglepullException.dataLoss("ingest '" + meta.ref() + "' for " + meta.expected() + ": "
                    + (offset + length) + " bytes exceed the expected size " + meta.total()));
        }
        ByteBuffer hashed = bytes.duplicate();
        try {
            writeFully(bytes, offset);
            if (journaled) {
                extents.append(offset, offset + length);
            }
        } catch (IOException e) {
            close(); // the file may hold part of this buffer: the next writer re-hashes what is there
            throw IoErrors.of("write ingest '" + meta.ref() + "'", e);
        }
        hasher.update(hashed);
        offset += length;
        if (!parts.isEmpty()) {
            synchronized (parts) { // extents written earlier that this stream now writes again, in order
                parts.headMap(offset).clear();
            }
        }
        watch.advanced(live, offset);
    }

    @Override
    public void writeAt(long position, ByteBuffer bytes) {
        ensureOpen();
        int length = bytes.remaining();
        long end = position + length;
        if (position < offset || (meta.total() >= 0 && end > meta.total())) {
            throw fail(SinglepullException.dataLoss("ingest '" + meta.ref() + "' for " + meta.expected() + ": a part"
                    + " at " + position + "-" + end + " lies outside the unwritten " + offset + "-" + meta.total()));
        }
        ByteBuffer hashed = bytes.duplicate();
        try {
            startJournal();
            writeFully(bytes, position);
            extents.append(position, end);
        } catch (IOException e) {
            throw IoErrors.of("write ingest '" + meta.ref() + "' at " + position, e);
        }
        boolean next;
        synchronized (parts) {
            next = !hashing && position == offset; // the bytes that continue the prefix: hashed from memory
            if (!next && length > 0) {
                parts.put(position, end);
            }
            if (hashing) {
                return; // the thread hashing now takes this part too
            }
            hashing = true;
        }
        if (next) {
            hasher.update(hashed);
            offset = end;
            watch.advanced(live, end);
        }
        hashContiguousParts();
    }

    /**
     * Before the first byte is written out of order: the journal starts, with the prefix written so far, so that a
     * resume after a crash never takes the holes of the file for data.
     */
    private void startJournal() throws IOException {
        if (journaled) {
            return;
        }
        synchronized (extents) {
            if (!journaled) {
                extents.append(0, offset);
                journaled = true;
            }
        }
    }

    /**
     * Hashes the parts that continue the prefix, reading them back (from the page cache) in order: parts written
     * ahead of the prefix, which could not be hashed as they were written.
     */
    private void hashContiguousParts() {
        ByteBuffer buffer = ByteBuffer.allocate(REHASH_BUFFER);
        while (true) {
            long start;
            long end;
            synchronized (parts) {
                var first = parts.firstEntry();
                if (first == null || first.getKey() != offset) {
                    hashing = false;
                    return;
                }
                parts.pollFirstEntry();
                start = first.getKey();
                end = first.getValue();
            }
            try {
                for (long at = start; at < end; ) {
                    buffer.clear().limit((int) Math.min(buffer.capacity(), end - at));
                    int n = channel.read(buffer, at);
                    if (n <= 0) {
                        throw new IOException("read back " + at + " of " + end + ": end of file");
                    }
                    hasher.update(buffer.flip());
                    at += n;
                }
            } catch (IOException e) {
                synchronized (parts) {
                    hashing = false;
                }
                throw IoErrors.of("hash ingest '" + meta.ref() + "' at " + start, e);
            }
            offset = end;
            watch.advanced(live, end);
        }
    }

    private void writeFully(ByteBuffer bytes, long position) throws IOException {
        long at = position;
        while (bytes.hasRemaining()) {
            at += channel.write(bytes, at);
        }
    }

    @Override
    public OutputStream asOutputStream() {
        return new WriterOutputStream(this);
    }

    @Override
    public ContentInfo commit() {
        ensureOpen();
        try {
            channel.force(true);
            channel.close();
            verify();
            Path target = layout.blob(meta.expected());
            if (!Files.exists(target)) {
                moveIntoPlace(target);
            }
            watch.ended(meta.ref(), live, IngestWatch.End.COMMITTED);
            deleteIngestAfterCommit();
            return committed.apply(meta.expected()).orElseThrow(() -> SinglepullException.notFound("blob "
                    + meta.expected() + " was deleted right after ingest '" + meta.ref() + "' committed it"));
        } catch (IOException e) {
            throw IoErrors.of("commit ingest '" + meta.ref() + "' as " + meta.expected(), e);
        } finally {
            close();
        }
    }

    private void verify() {
        if (meta.total() >= 0 && offset != meta.total()) {
            throw fail(SinglepullException.dataLoss("ingest '" + meta.ref() + "' for " + meta.expected()
                    + ": size mismatch: expected " + meta.total() + " bytes, got " + offset));
        }
        Digest actual = Digest.fromHash(meta.expected().algorithm(), hasher.digest());
        if (!actual.equals(meta.expected())) {
            throw fail(SinglepullException.dataLoss("ingest '" + meta.ref() + "': digest mismatch: expected "
                    + meta.expected() + ", got " + actual + " (" + offset + " bytes)"));
        }
    }

    /** Read-only first, so the blob is never visible writable; then rename; then make the rename durable. */
    private void moveIntoPlace(Path target) throws IOException {
        Path dir = target.getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            AtomicFiles.fsyncDirectory(layout.blobsDir());
        }
        Path data = ingest.data();
        Files.setLastModifiedTime(data, FileTime.from(clock.instant())); // committedAt
        AtomicFiles.makeReadOnly(data);
        boolean moved = AtomicFiles.moveIfAbsent(data, target);
        AtomicFiles.fsyncDirectory(dir);
        if (moved) {
            totals.added(offset);
        }
    }

    /** The blob is committed: a leftover ingest is only litter (the next writer of the ref removes it). */
    private void deleteIngestAfterCommit() {
        try {
            ingest.delete();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "committed " + meta.expected() + " but could not remove ingest "
                    + ingest.path(), e);
        }
    }

    /** Deletes the ingest (its bytes are wrong) and closes; returns {@code e} to throw. */
    private SinglepullException fail(SinglepullException e) {
        try {
            channel.close();
            ingest.delete(); // before close() releases the lock, so no new writer of the ref sees it half gone
        } catch (IOException suppressed) {
            e.addSuppressed(suppressed);
        }
        close();
        return e;
    }

    private void ensureOpen() {
        if (closed) {
            throw SinglepullException.failedPrecondition("writer of ingest '" + meta.ref() + "' is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        watch.ended(meta.ref(), live, IngestWatch.End.ABANDONED); // no-op after a commit
        try {
            extents.close(); // the parts written stay, with their journal, for the next writer of the ref
            channel.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "closing ingest " + ingest.path(), e);
        } finally {
            lock.close();
        }
    }
}
