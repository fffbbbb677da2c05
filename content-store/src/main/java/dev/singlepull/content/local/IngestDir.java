package dev.singlepull.content.local;

import dev.singlepull.content.Digest;
import dev.singlepull.content.IngestStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * One ingest directory ({@link IngestLayout#ingestDir}): its description files and its {@code data}. A directory
 * whose description cannot be read (a crash while it was created) reads as absent. Not thread-safe: callers hold
 * the ref's lock.
 */
final class IngestDir {
    /** What an ingest should become. {@code total} is -1 when the size is unknown. */
    record Meta(String ref, Digest expected, long total, Instant startedAt) {
        Meta withTotal(long newTotal) {
            return new Meta(ref, expected, newTotal, startedAt);
        }
    }

    private final Path dir;

    IngestDir(Path dir) {
        this.dir = dir;
    }

    Path path() {
        return dir;
    }

    Path data() {
        return dir.resolve(IngestLayout.DATA);
    }

    /** The journal of written extents, for data written out of order. */
    IngestExtents extents() {
        return new IngestExtents(dir.resolve(IngestLayout.EXTENTS));
    }

    /** The description, or empty if there is none or it is damaged. */
    Optional<Meta> readMeta() {
        try {
            String ref = Files.readString(dir.resolve(IngestLayout.REF));
            String expected = Files.readString(dir.resolve(IngestLayout.EXPECTED)).strip();
            long total = Long.parseLong(Files.readString(dir.resolve(IngestLayout.TOTAL)).strip());
            Instant started = Instant.parse(Files.readString(dir.resolve(IngestLayout.STARTED_AT)).strip());
            if (!Digest.isDigest(expected) || total < -1) {
                return Optional.empty();
            }
            return Optional.of(new Meta(ref, Digest.parse(expected), total, started));
        } catch (IOException | NumberFormatException | DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** Creates the directory with its description and an empty {@code data}. */
    void create(Meta meta) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(IngestLayout.REF), meta.ref());
        Files.writeString(dir.resolve(IngestLayout.EXPECTED), meta.expected().toString());
        writeTotal(meta.total());
        Files.writeString(dir.resolve(IngestLayout.STARTED_AT), meta.startedAt().toString());
        Files.deleteIfExists(dir.resolve(IngestLayout.EXTENTS));
        Files.deleteIfExists(data());
        Files.createFile(data());
    }

    void writeTotal(long total) throws IOException {
        Files.writeString(dir.resolve(IngestLayout.TOTAL), Long.toString(total));
    }

    /** Bytes in {@code data}; 0 if it does not exist. */
    long dataSize() throws IOException {
        try {
            return Files.size(data());
        } catch (NoSuchFileException e) {
            return 0;
        }
    }

    /** When data was last written: the data file's mtime, or the directory's if there is no data. */
    Instant updatedAt() throws IOException {
        try {
            return Files.getLastModifiedTime(data()).toInstant();
        } catch (NoSuchFileException e) {
            return Files.getLastModifiedTime(dir).toInstant();
        }
    }

    /** What is known to be written: the contiguous prefix, and the extents beyond it (see {@link IngestExtents}). */
    IngestExtents.Known written() throws IOException {
        return extents().read(dataSize());
    }

    IngestStatus status(Meta meta) throws IOException {
        return new IngestStatus(meta.ref(), meta.expected(), written().prefix(), meta.total(), meta.startedAt(),
                updatedAt());
    }

    /** Removes the directory and everything in it; absent is not an error. */
    void delete() throws IOException {
        AtomicFiles.deleteTree(dir);
    }
}
