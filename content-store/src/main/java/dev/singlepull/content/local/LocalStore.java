package dev.singlepull.content.local;

import dev.singlepull.content.CheckResult;
import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.Finding;
import dev.singlepull.content.IngestStatus;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
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
    private final BlobTotals totals;
    private final IngestWatch watch = new IngestWatch();
    private volatile boolean closed;

    private LocalStore(IngestLayout layout, MetadataDb db, Clock clock, BlobTotals totals) {
        this.layout = layout;
        this.db = db;
        this.clock = clock;
        this.locks = new RefLocks(clock);
        this.totals = totals;
    }

    /**
     * Opens the store under {@code root}, creating its directories. With {@code recover}, ingests that a crash cut
     * short while they were being created are removed; without, nothing on disk is changed but the directories.
     */
    static LocalStore open(Path root, MetadataDb db, Clock clock, boolean recover) {
        IngestLayout layout = new IngestLayout(root);
        BlobTotals totals;
        try {
            Files.createDirectories(layout.blobDir("sha256"));
            Files.createDirectories(layout.ingestRoot());
            totals = BlobTotals.count(layout.blobsDir());
        } catch (IOException e) {
            throw IoErrors.of("open content store under " + root, e);
        }
        LocalStore store = new LocalStore(layout, db, clock, totals);
        if (recover) {
            store.removeBrokenIngests();
        }
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
        Path blob = layout.blob(digest);
        try {
            long size = Files.size(blob);
            if (Files.deleteIfExists(blob)) {
                totals.removed(size);
            }
        } catch (NoSuchFileException e) {
            // absent: nothing to delete but its labels
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
            return LocalWriter.open(layout, clock, this::info, totals, watch, ref, expected, size, lock);
        } catch (IOException e) {
            lock.close();
            throw IoErrors.of("open ingest '" + ref + "' for " + expected, e);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    @Override
    public InputStream follow(String ref, Digest expected) {
        if (ref == null || ref.isEmpty() || expected == null) {
            throw SinglepullException.invalidArgument("follow needs a ref and an expected digest; got ref '" + ref
                    + "', digest " + expected);
        }
        return new IngestFollower(watch, ref, expected, digest -> {
            try {
                return Files.newInputStream(layout.blob(digest));
            } catch (NoSuchFileException e) {
                return null;
            } catch (IOException e) {
                throw IoErrors.of("open blob " + digest, e);
            }
        });
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
            // the directories content/blobs and content/ingest, one per digest algorithm, the blobs, the ingests
            long directories = 2 + children(layout.blobsDir()).size();
            return new Usage(totals.bytes(), directories + totals.count()).plus(DiskUsage.of(layout.ingestRoot()));
        } catch (IOException e) {
            throw IoErrors.of("measure " + layout.ingestRoot(), e);
        }
    }

    @Override
    public CheckResult check(boolean repair) {
        List<Finding> findings = new ArrayList<>();
        long checked = 0;
        for (Path algorithmDir : children(layout.blobsDir())) {
            if (!Files.isDirectory(algorithmDir)) {
                findings.add(strayFile(algorithmDir, repair));
                continue;
            }
            for (Path file : children(algorithmDir)) {
                Optional<Digest> digest = layout.digestOf(file);
                if (digest.isEmpty() || !Files.isRegularFile(file)) {
                    findings.add(strayFile(file, repair));
                    continue;
                }
                Optional<Finding> corrupt = verify(digest.get(), file, repair);
                if (corrupt.isPresent()) {
                    findings.add(corrupt.get());
                }
                checked++;
            }
        }
        for (Digest labelled : db.labelledDigests()) {
            if (!Files.exists(layout.blob(labelled))) {
                Finding f = Finding.leftover("labels of blob " + labelled,
                        "the blob is gone but its labels are not (a deletion cut short)");
                if (repair) {
                    db.deleteLabels(labelled);
                    f = f.repairedBy("labels dropped");
                }
                findings.add(f);
            }
        }
        for (IngestStatus ingest : ingests()) {
            findings.add(Finding.leftover("ingest " + ingest.ref(), "partial download of " + ingest.expected() + ", "
                    + ingest.offset() + " of " + (ingest.total() < 0 ? "?" : ingest.total()) + " bytes, last written "
                    + ingest.updatedAt() + " (in progress, or resumed by the next pull of this blob)"));
        }
        for (Path dir : children(layout.ingestRoot())) {
            if (new IngestDir(dir).readMeta().isEmpty() && Files.exists(dir)) {
                findings.add(Finding.leftover("ingest directory " + layout.contentDir().relativize(dir),
                        "cut short while it was created; removed at the next start"));
            }
        }
        return new CheckResult(checked, findings);
    }

    /** A finding if the blob at {@code file} does not hash to {@code digest}; deleted with {@code repair}. */
    private Optional<Finding> verify(Digest digest, Path file, boolean repair) {
        MessageDigest hasher = digest.newHasher();
        long size = 0;
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) >= 0; size += n) {
                hasher.update(buffer, 0, n);
            }
        } catch (NoSuchFileException e) {
            return Optional.empty(); // deleted while we looked
        } catch (IOException e) {
            return Optional.of(Finding.problem("blob " + digest, "cannot be read: " + e));
        }
        Digest actual = Digest.fromHash(digest.algorithm(), hasher.digest());
        if (actual.equals(digest)) {
            return Optional.empty();
        }
        Finding f = Finding.problem("blob " + digest, "content does not match its name: " + size + " bytes hash to "
                + actual);
        if (repair) {
            delete(digest);
            f = f.repairedBy("blob deleted (pull its image again)");
        }
        return Optional.of(f);
    }

    private Finding strayFile(Path path, boolean repair) {
        Finding f = Finding.problem("file " + layout.contentDir().relativize(path),
                "not a blob: only content/blobs/<algorithm>/<hex> files belong under content/blobs");
        if (repair) {
            try {
                AtomicFiles.deleteTree(path);
                f = f.repairedBy("deleted");
            } catch (IOException e) {
                f = Finding.problem(f.subject(), f.detail() + "; cannot delete it: " + e);
            }
        }
        return f;
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
