package dev.singlepull.content.local;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.IngestStatus;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The {@link ContentStore} on a local directory, laid out by {@link IngestLayout}; labels live in the
 * {@link MetadataDb}. See {@link LocalContentStore} for the contract. Thread-safe.
 */
final class LocalStore implements ContentStore {
    private static final System.Logger LOG = System.getLogger(LocalStore.class.getName());

    private final IngestLayout layout;
    private final MetadataDb db;
    private final Clock clock;
    private final RefLocks locks;
    private volatile boolean closed;

    private LocalStore(IngestLayout layout, MetadataDb db, Clock clock) {
        this.layout = layout;
        this.db = db;
        this.clock = clock;
        this.locks = new RefLocks(clock);
    }

    static LocalStore open(Path root, MetadataDb db, Clock clock) {
        IngestLayout layout = new IngestLayout(root);
        try {
            Files.createDirectories(layout.blobDir("sha256"));
            Files.createDirectories(layout.ingestRoot());
        } catch (IOException e) {
            throw IoErrors.of("create content store under " + root, e);
        }
        LocalStore store = new LocalStore(layout, db, clock);
        store.removeBrokenIngests();
        return store;
    }

    /** Ingests whose description cannot be read were cut short while being created; nothing can resume them. */
    private void removeBrokenIngests() {
        for (Path dir : children(layout.ingestRoot())) {
            IngestDir ingest = new IngestDir(dir);
            if (ingest.readMeta().isEmpty()) {
                try {
                    ingest.delete();
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot remove broken ingest " + dir, e);
                }
            }
        }
    }

    // ---- ContentProvider, ContentManager

    @Override
    public InputStream open(Digest digest) {
        try {
            return Files.newInputStream(layout.blob(digest));
        } catch (NoSuchFileException e) {
            throw SinglepullException.notFound("blob " + digest + " is not in the content store");
        } catch (IOException e) {
            throw IoErrors.of("open blob " + digest, e);
        }
    }

    @Override
    public Optional<ContentInfo> info(Digest digest) {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(layout.blob(digest), BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw IoErrors.of("stat blob " + digest, e);
        }
        return Optional.of(new ContentInfo(digest, attrs.size(), attrs.lastModifiedTime().toInstant(),
                db.labels(digest)));
    }

    @Override
    public List<ContentInfo> list() {
        List<ContentInfo> out = new ArrayList<>();
        for (Path algorithmDir : children(layout.blobsDir())) {
            for (Path file : children(algorithmDir)) {
                layout.digestOf(file).flatMap(this::info).ifPresent(out::add);
            }
        }
        return out;
    }

    @Override
    public void label(Digest digest, Map<String, String> labels) {
        if (!Files.exists(layout.blob(digest))) {
            throw SinglepullException.notFound("cannot label blob " + digest + ": it is not in the content store");
        }
        db.setLabels(digest, labels);
    }

    @Override
    public void delete(Digest digest) {
        try {
            Files.deleteIfExists(layout.blob(digest));
        } catch (IOException e) {
            throw IoErrors.of("delete blob " + digest, e);
        }
        db.deleteLabels(digest);
    }

    // ---- Ingester, IngestManager

    @Override
    public ContentWriter writer(String ref, Digest expected, long size) {
        if (ref == null || ref.isEmpty() || expected == null || size < -1) {
            throw SinglepullException.invalidArgument("writer needs a ref, an expected digest and a size >= -1; got ref '"
                    + ref + "', digest " + expected + ", size " + size);
        }
        if (closed) {
            throw SinglepullException.failedPrecondition("content store is closed; cannot write ingest '" + ref + "'");
        }
        RefLocks.Held lock = locks.acquire(ref);
        try {
            Optional<ContentInfo> existing = info(expected);
            if (existing.isPresent()) {
                new IngestDir(layout.ingestDir(ref)).delete();
                return new CommittedBlobWriter(ref, existing.get(), size, this::info, lock);
            }
            return LocalWriter.open(layout, clock, this::info, ref, expected, size, lock);
        } catch (IOException e) {
            lock.close();
            throw IoErrors.of("open ingest '" + ref + "' for " + expected, e);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    @Override
    public List<IngestStatus> ingests() {
        List<IngestStatus> out = new ArrayList<>();
        for (Path dir : children(layout.ingestRoot())) {
            IngestDir ingest = new IngestDir(dir);
            try {
                Optional<IngestDir.Meta> meta = ingest.readMeta();
                if (meta.isPresent()) {
                    out.add(ingest.status(meta.get()));
                }
            } catch (NoSuchFileException e) {
                // committed or aborted while we looked
            } catch (IOException e) {
                throw IoErrors.of("read ingest " + dir, e);
            }
        }
        return out;
    }

    @Override
    public void abort(String ref) {
        RefLocks.Held lock = locks.acquire(ref);
        try {
            new IngestDir(layout.ingestDir(ref)).delete();
        } catch (IOException e) {
            throw IoErrors.of("abort ingest '" + ref + "'", e);
        } finally {
            lock.close();
        }
    }

    @Override
    public int abortStale(Duration olderThan) {
        Instant cutoff = clock.instant().minus(olderThan);
        int removed = 0;
        for (Path dir : children(layout.ingestRoot())) {
            IngestDir ingest = new IngestDir(dir);
            try {
                if (ingest.updatedAt().isAfter(cutoff)) {
                    continue;
                }
                Optional<IngestDir.Meta> meta = ingest.readMeta();
                if (meta.isEmpty()) {
                    ingest.delete();
                    removed++;
                    continue;
                }
                Optional<RefLocks.Held> lock = locks.tryAcquire(meta.get().ref());
                if (lock.isEmpty()) {
                    continue; // a writer has it open: not abandoned
                }
                try {
                    ingest.delete();
                    removed++;
                } finally {
                    lock.get().close();
                }
            } catch (NoSuchFileException e) {
                // committed or aborted while we looked
            } catch (IOException e) {
                throw IoErrors.of("abort stale ingest " + dir, e);
            }
        }
        return removed;
    }

    // ---- ContentStore

    @Override
    public MetadataDb metadata() {
        return db;
    }

    @Override
    public Usage usage() {
        try {
            return DiskUsage.of(layout.contentDir());
        } catch (IOException e) {
            throw IoErrors.of("measure " + layout.contentDir(), e);
        }
    }

    /** Refs whose writer is open now. */
    int openWriters() {
        return locks.size();
    }

    @Override
    public void close() {
        closed = true;
    }

    /** The entries of {@code dir}; empty if it does not exist. */
    private static List<Path> children(Path dir) {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw IoErrors.of("list " + dir, e);
        }
    }
}
