package dev.singlepull.content.local;

import dev.singlepull.content.ContentWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The record of which bytes of an ingest's {@code data} are really written, for an ingest written out of order
 * (parallel parts at their offsets): such a file has holes, and its length says nothing of what lies before its end.
 * The {@code extents} file is an append-only journal of 16-byte records (start, end: two big-endian longs), one per
 * write, appended only after the write returned; a record cut short by a crash is ignored. The journal starts with
 * the prefix that was already written in order when the first part came. An ingest without the file was written in
 * order only: its length is its prefix.
 *
 * <p>A process killed at any moment leaves records only for bytes it wrote, since both files go through the same
 * page cache. A machine that loses power may keep a record whose bytes did not reach the disk; the digest checked at
 * commit catches that, and the ingest is then fetched anew. Appends are thread-safe; the rest is for the writer that
 * holds the ref's lock.
 */
final class IngestExtents implements AutoCloseable {
    private static final int RECORD = 16;

    /**
     * What is known to be written: the contiguous prefix from byte 0, the written extents beyond it (in order), and
     * whether a journal says so (else the data was written in order and its length is the prefix).
     */
    record Known(long prefix, List<ContentWriter.Extent> beyond, boolean journaled) { }

    private final Path file;
    private FileChannel journal; // null until the first append; guarded by this

    IngestExtents(Path file) {
        this.file = file;
    }

    /**
     * Reads the journal, merging its records, and keeps only bytes below {@code dataSize} (what the data file can
     * hold). Without a journal the data was written in order: all {@code dataSize} bytes are the prefix.
     */
    Known read(long dataSize) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new Known(dataSize, List.of(), false);
        }
        var merged = new TreeMap<Long, Long>();
        ByteBuffer records = ByteBuffer.wrap(bytes);
        while (records.remaining() >= RECORD) {
            long start = records.getLong();
            long end = Math.min(records.getLong(), dataSize);
            if (start >= 0 && start < end) {
                add(merged, start, end);
            }
        }
        long prefix = 0;
        List<ContentWriter.Extent> beyond = new ArrayList<>();
        for (var e : merged.entrySet()) {
            if (e.getKey() == 0) {
                prefix = e.getValue();
            } else {
                beyond.add(new ContentWriter.Extent(e.getKey(), e.getValue()));
            }
        }
        return new Known(prefix, List.copyOf(beyond), true);
    }

    /** Adds start-end to a map of disjoint extents, joining those it touches or overlaps. */
    private static void add(TreeMap<Long, Long> extents, long start, long end) {
        var before = extents.floorEntry(start);
        if (before != null && before.getValue() >= start) {
            start = before.getKey();
            end = Math.max(end, before.getValue());
        }
        for (var next = extents.ceilingEntry(start); next != null && next.getKey() <= end;
             next = extents.ceilingEntry(start)) {
            end = Math.max(end, next.getValue());
            extents.remove(next.getKey());
        }
        extents.put(start, end);
    }

    /** Records that bytes {@code start} to {@code end} of the data are written (they must be, when this is called). */
    synchronized void append(long start, long end) throws IOException {
        if (journal == null) {
            journal = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
        }
        ByteBuffer record = ByteBuffer.allocate(RECORD).putLong(start).putLong(end).flip();
        while (record.hasRemaining()) {
            journal.write(record);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (journal != null) {
            journal.close();
            journal = null;
        }
    }
}
