package dev.singlepull.unpack.snapshot;

import dev.singlepull.content.CheckResult;
import dev.singlepull.content.Finding;
import dev.singlepull.content.meta.Leases;
import dev.singlepull.content.meta.ResourceCollector;
import dev.singlepull.content.meta.SnapshotRecord;
import dev.singlepull.content.meta.SnapshotStore;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * Snapshots as plain directories under {@code <root>/snapshots/}, one per ChainID, each holding one layer's diff in
 * {@code <n>/fs} (overlay-style independent layer directories); records in the metadata database's
 * {@link SnapshotStore}, keyed by ChainID, with the directory relative to the root.
 *
 * <p>Commit order: measure the staging tree and make it durable ({@link SnapshotSync}: one {@code syncfs} of the
 * filesystem, or an {@code fsync} of every file and directory), record it as {@code committing} under
 * {@code snapshots/<n>} ({@code n} from {@link SnapshotStore#nextId()}; durable), rename the staging directory to
 * {@code snapshots/<n>}, fsync {@code snapshots/}, then mark the record {@code committed}. Removal: mark the record
 * {@code removing} (durable), delete the directory, delete the record. So a committed record always names a complete,
 * durable directory, and no {@code snapshots/<n>} ever exists without a record. A crash leaves at most a staging
 * directory, or a record that is not committed; the next instance deletes the first and finishes the second (a
 * commit whose directory is in place is completed, one whose is not is dropped; a removal is finished). The root's
 * lock keeps a second process away meanwhile.
 *
 * <p>Errors: file system failures are INTERNAL (RESOURCE_EXHAUSTED when the disk is full); {@link #fsPath} of an
 * unknown ChainID is NOT_FOUND; a {@link Staging} from elsewhere is INVALID_ARGUMENT. Thread-safe.
 */
public final class DirectorySnapshotter implements Snapshotter {
    private static final System.Logger LOG = System.getLogger(DirectorySnapshotter.class.getName());

    private final Path root;
    private final Path snapshots;
    private final SnapshotStore store;
    private final Clock clock;
    private final SnapshotSync sync;

    /** Opens the snapshot area of {@code root}, creating it if needed, and cleans up after crashed runs. */
    public DirectorySnapshotter(Path root, SnapshotStore store) {
        this(root, store, Clock.systemUTC());
    }

    /** As {@link #DirectorySnapshotter(Path, SnapshotStore)}, with the clock that stamps records. */
    public DirectorySnapshotter(Path root, SnapshotStore store, Clock clock) {
        this(root, store, clock, SnapshotSync.DEFAULT);
    }

    /**
     * As {@link #DirectorySnapshotter(Path, SnapshotStore, Clock)}, making snapshots durable as {@code sync} says
     * ({@link SnapshotSync#SYNCFS} falls back to {@link SnapshotSync#FSYNC}, with a warning, where {@code syncfs} is
     * not available).
     */
    public DirectorySnapshotter(Path root, SnapshotStore store, Clock clock, SnapshotSync sync) {
        this(root, store, clock, sync, true);
    }

    private DirectorySnapshotter(Path root, SnapshotStore store, Clock clock, SnapshotSync sync, boolean recover) {
        this.root = root.toAbsolutePath().normalize();
        this.snapshots = this.root.resolve(SnapshotLayout.SNAPSHOTS);
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.sync = effective(Objects.requireNonNull(sync, "sync"));
        try {
            Files.createDirectories(snapshots);
        } catch (IOException e) {
            throw Trees.failure("cannot create " + snapshots, e);
        }
        if (recover) {
            recover();
        }
    }

    /**
     * Opens the snapshot area for inspection ({@code singlepull fsck}): what crashed runs left stays as it is, for
     * {@link #check} to report.
     */
    public static DirectorySnapshotter forInspection(Path root, SnapshotStore store) {
        return new DirectorySnapshotter(root, store, Clock.systemUTC(), SnapshotSync.FSYNC, false);
    }

    private static SnapshotSync effective(SnapshotSync requested) {
        if (requested == SnapshotSync.SYNCFS && !FileSystemSync.isAvailable()) {
            LOG.log(Level.WARNING, "snapshot_sync = \"syncfs\" is not available here; syncing every file instead");
            return SnapshotSync.FSYNC;
        }
        return requested;
    }

    /** How this snapshotter makes snapshots durable (after any fallback). */
    public SnapshotSync sync() {
        return sync;
    }

    @Override
    public Optional<SnapshotInfo> stat(ChainId chainId) {
        return store.get(chainId.toString()).filter(SnapshotRecord::isCommitted).map(this::toInfo);
    }

    /**
     * The committed snapshots of the chain {@code top} ends, bottom first, read from {@code store} without opening the
     * snapshot area (no recovery, no writes): for readers beside a running service, since committed snapshots are
     * immutable. NOT_FOUND naming the ChainID if a snapshot of the chain has no record; INTERNAL if a record names a
     * directory outside {@code <root>/snapshots}.
     */
    public static List<SnapshotInfo> committedChain(Path root, SnapshotStore store, ChainId top) {
        Path base = root.toAbsolutePath().normalize();
        Path area = base.resolve(SnapshotLayout.SNAPSHOTS);
        List<SnapshotInfo> chain = new ArrayList<>();
        ChainId next = top;
        while (next != null) {
            ChainId id = next;
            SnapshotRecord record = store.get(id.toString()).orElseThrow(() -> SinglepullException.notFound(
                    "no committed snapshot for chain " + id + (id.equals(top) ? "" : " (below " + top + ")")));
            chain.add(toInfo(base, area, record));
            next = record.parent() == null ? null : ChainId.parse(record.parent());
            if (chain.size() > 10_000) {
                throw SinglepullException.internal("the snapshot chain of " + top + " loops", null);
            }
        }
        return List.copyOf(chain.reversed());
    }

    /** The {@code fs} directory of a committed snapshot; NOT_FOUND if {@code chainId} has none. */
    public Path fsPath(ChainId chainId) {
        return stat(chainId).map(SnapshotInfo::directory)
                .orElseThrow(() -> SinglepullException.notFound("no snapshot for chain " + chainId));
    }

    @Override
    public Staging prepare() {
        while (true) {
            Path dir = snapshots.resolve(SnapshotLayout.STAGING_PREFIX + UUID.randomUUID());
            try {
                Files.createDirectory(dir);
                Path fs = Files.createDirectory(dir.resolve(SnapshotLayout.FS));
                Files.setPosixFilePermissions(fs, PosixFilePermissions.fromString("rwxr-xr-x"));
                return new Staging(dir);
            } catch (FileAlreadyExistsException e) {
                // a name clash: draw again
            } catch (IOException e) {
                throw Trees.failure("cannot create a staging directory in " + snapshots, e);
            }
        }
    }

    @Override
    public SnapshotInfo commit(Staging staging, ChainId chainId, ChainId parent) {
        Path dir = own(staging);
        String key = chainId.toString();
        Optional<SnapshotRecord> existing = store.get(key);
        if (existing.isPresent() && existing.get().isCommitted()) {
            abort(staging);
            return toInfo(existing.get());
        }
        Path moved = null;
        SnapshotRecord record = null;
        try {
            if (existing.isPresent()) {
                // not committed: the trace of an earlier commit or removal of this chain that failed; one committer
                // per chain (the chain flight) and one process per root (the lock) make it ours to clear
                LOG.log(Level.WARNING, "snapshot {0} has a leftover {1} record; replacing it", key,
                        existing.get().state().dbName());
                removeRecordAndDirectory(existing.get());
            }
            Trees.Usage usage = makeDurable(staging.fs(), dir);
            String relative = SnapshotLayout.relativeDirectory(store.nextId());
            record = new SnapshotRecord(key, parent == null ? null : parent.toString(), relative, usage.size(),
                    usage.inodes(), clock.instant(), SnapshotRecord.State.COMMITTING);
            try {
                store.insert(record);
            } catch (SinglepullException e) {
                record = null;
                if (e.kind() == ErrorKind.ALREADY_EXISTS) {
                    abort(staging);
                    return stat(chainId).orElseThrow(() -> e);
                }
                throw e;
            }
            Path target = root.resolve(relative);
            Files.move(dir, target, StandardCopyOption.ATOMIC_MOVE);
            moved = target;
            if (sync != SnapshotSync.NONE) {
                Trees.fsync(snapshots);
            }
            if (!store.setState(key, SnapshotRecord.State.COMMITTING, SnapshotRecord.State.COMMITTED)) {
                throw SinglepullException.internal("snapshot " + key + " lost its committing record", null);
            }
            return toInfo(record.withState(SnapshotRecord.State.COMMITTED));
        } catch (IOException e) {
            discard(moved, staging, record);
            throw Trees.failure("cannot commit the snapshot of chain " + chainId, e);
        } catch (RuntimeException e) {
            discard(moved, staging, record);
            throw e;
        }
    }

    /** Measures the staging tree and makes it durable as {@link #sync} says. */
    private Trees.Usage makeDurable(Path fs, Path stagingDir) throws IOException {
        return switch (sync) {
            case FSYNC -> {
                Trees.Usage usage = Trees.measureAndSync(fs);
                Trees.fsync(stagingDir);
                yield usage;
            }
            case SYNCFS -> {
                Trees.Usage usage = Trees.measure(fs);
                FileSystemSync.syncFileSystemOf(stagingDir);
                yield usage;
            }
            case NONE -> Trees.measure(fs);
        };
    }

    @Override
    public void abort(Staging staging) {
        Path dir = own(staging);
        try {
            Trees.deleteRecursively(dir);
        } catch (IOException e) {
            throw Trees.failure("cannot delete staging directory " + dir, e);
        }
    }

    @Override
    public long remove(ChainId chainId) {
        return remove(chainId.toString());
    }

    @Override
    public List<SnapshotInfo> list() {
        return store.list().stream().filter(SnapshotRecord::isCommitted).map(this::toInfo).toList();
    }

    /** Frees snapshot directories during garbage collection: kind {@link Leases#SNAPSHOT}, ids are ChainIDs. */
    public ResourceCollector collector() {
        return new ResourceCollector() {
            @Override
            public String kind() {
                return Leases.SNAPSHOT;
            }

            @Override
            public Set<String> all() {
                // a record being committed belongs to a pull in flight, one being removed is going anyway
                return store.list().stream().filter(SnapshotRecord::isCommitted).map(SnapshotRecord::key)
                        .collect(Collectors.toSet());
            }

            @Override
            public long remove(String id) {
                return DirectorySnapshotter.this.remove(id);
            }
        };
    }

    private long remove(String key) {
        Optional<SnapshotRecord> record = store.get(key);
        if (record.isEmpty() || record.get().state() == SnapshotRecord.State.COMMITTING) {
            return 0; // absent, or a commit in flight: not ours to take
        }
        if (record.get().isCommitted()
                && !store.setState(key, SnapshotRecord.State.COMMITTED, SnapshotRecord.State.REMOVING)) {
            return 0; // removed meanwhile
        }
        removeRecordAndDirectory(record.get());
        return record.get().size();
    }

    /** Deletes a record's directory, then the record (a crash in between leaves the record for recovery). */
    private void removeRecordAndDirectory(SnapshotRecord record) {
        Path dir = directoryOf(record);
        try {
            Trees.deleteRecursively(dir);
        } catch (IOException e) {
            throw Trees.failure("cannot delete directory " + dir + " of snapshot " + record.key()
                    + " (its record stays '" + record.state().dbName() + "'; the next start retries)", e);
        }
        store.delete(record.key());
    }

    /**
     * Finishes what crashed runs left: a committed record without its directory is dropped; a commit whose directory
     * is in place is completed (its data was durable before it was recorded), one whose directory is not is dropped;
     * a removal is finished; staging directories and directories without a record are deleted.
     */
    private void recover() {
        Set<String> recorded = new HashSet<>();
        for (SnapshotRecord record : store.list()) {
            Path dir = directoryOf(record);
            boolean complete = Files.isDirectory(dir.resolve(SnapshotLayout.FS));
            switch (record.state()) {
                case COMMITTED -> {
                    if (complete) {
                        recorded.add(dir.getFileName().toString());
                    } else {
                        LOG.log(Level.WARNING, "snapshot {0} has no directory {1}; dropping its record",
                                record.key(), dir);
                        store.delete(record.key());
                    }
                }
                case COMMITTING -> {
                    if (complete) {
                        LOG.log(Level.INFO, "completing the commit of snapshot {0}, cut short by a crash", record.key());
                        try {
                            Trees.fsync(snapshots);
                        } catch (IOException e) {
                            throw Trees.failure("cannot sync " + snapshots, e);
                        }
                        store.setState(record.key(), SnapshotRecord.State.COMMITTING, SnapshotRecord.State.COMMITTED);
                        recorded.add(dir.getFileName().toString());
                    } else {
                        LOG.log(Level.INFO, "dropping the commit of snapshot {0}, cut short by a crash", record.key());
                        removeRecordAndDirectory(record);
                    }
                }
                case REMOVING -> {
                    LOG.log(Level.INFO, "finishing the removal of snapshot {0}, cut short by a crash", record.key());
                    removeRecordAndDirectory(record);
                }
            }
        }
        try (var children = Files.newDirectoryStream(snapshots)) {
            for (Path child : children) {
                boolean orphan = SnapshotLayout.isCommitted(child)
                        && !recorded.contains(child.getFileName().toString());
                if (SnapshotLayout.isStaging(child) || orphan) {
                    LOG.log(Level.INFO, "deleting leftover snapshot directory {0}", child);
                    Trees.deleteRecursively(child);
                }
            }
        } catch (IOException e) {
            throw Trees.failure("cannot clean up " + snapshots, e);
        }
    }

    /**
     * Checks records against directories: every committed record must have its directory, holding the bytes and
     * inodes recorded, and every {@code snapshots/<n>} must have a record (problems). Records being committed or
     * removed and staging directories are work in progress or cut short by a crash (leftovers). With {@code repair},
     * a record without its directory is dropped, a snapshot whose files changed is removed, and a directory without a
     * record or an unknown entry is deleted. Callers keep garbage collection away meanwhile.
     */
    public CheckResult check(boolean repair) {
        List<Finding> findings = new ArrayList<>();
        List<Path> entries = new ArrayList<>();
        try (var children = Files.newDirectoryStream(snapshots)) {
            children.forEach(entries::add); // before the records: a directory never exists without its record
        } catch (IOException e) {
            throw Trees.failure("cannot list " + snapshots, e);
        }
        entries.sort(null);
        Set<String> recorded = new HashSet<>();
        long checked = 0;
        for (SnapshotRecord record : store.list()) {
            checked++;
            String subject = "snapshot " + record.key();
            Path dir;
            try {
                dir = directoryOf(record);
            } catch (SinglepullException e) {
                findings.add(Finding.problem(subject, e.getMessage()));
                continue;
            }
            recorded.add(dir.getFileName().toString());
            switch (record.state()) {
                case COMMITTING -> findings.add(Finding.leftover(subject, "being committed into " + record.directory()
                        + " (in progress, or cut short by a crash: completed or dropped at the next start)"));
                case REMOVING -> findings.add(Finding.leftover(subject, "being removed from " + record.directory()
                        + " (in progress, or cut short by a crash: finished at the next start)"));
                case COMMITTED -> checkCommitted(record, dir, repair).ifPresent(findings::add);
            }
        }
        for (Path entry : entries) {
            String name = entry.getFileName().toString();
            String subject = "directory " + SnapshotLayout.SNAPSHOTS + "/" + name;
            if (SnapshotLayout.isStaging(entry)) {
                if (Files.exists(entry)) {
                    findings.add(Finding.leftover(subject, "an unpack in progress, or cut short by a crash "
                            + "(deleted at the next start)"));
                }
            } else if (!recorded.contains(name) && Files.exists(entry) && !isRecorded(name)) {
                Finding f = Finding.problem(subject, SnapshotLayout.isCommitted(entry)
                        ? "a snapshot directory without a record" : "not a snapshot directory");
                findings.add(repair ? deleted(f, entry) : f);
            }
        }
        return new CheckResult(checked, findings);
    }

    private Optional<Finding> checkCommitted(SnapshotRecord record, Path dir, boolean repair) {
        String subject = "snapshot " + record.key();
        Path fs = dir.resolve(SnapshotLayout.FS);
        if (!Files.isDirectory(fs)) {
            if (store.get(record.key()).filter(SnapshotRecord::isCommitted).isEmpty()) {
                return Optional.empty(); // removed while we looked
            }
            Finding f = Finding.problem(subject, "its directory " + record.directory() + "/fs is missing");
            if (repair) {
                removeRecordAndDirectory(record); // with what is left of the directory
                f = f.repairedBy("record dropped (pull its images again)");
            }
            return Optional.of(f);
        }
        Trees.Usage found;
        try {
            found = Trees.measure(fs);
        } catch (IOException e) {
            return Optional.of(Finding.problem(subject, "cannot read " + record.directory() + ": " + e));
        }
        if (found.size() == record.size() && found.inodes() == record.inodes()) {
            return Optional.empty();
        }
        Finding f = Finding.problem(subject, "its files changed since commit: recorded " + record.size() + " bytes in "
                + record.inodes() + " inodes, found " + found.size() + " bytes in " + found.inodes());
        if (repair) {
            remove(record.key());
            f = f.repairedBy("snapshot removed (pull its images again)");
        }
        return Optional.of(f);
    }

    /** True if a record (in any state) names {@code snapshots/<name>} now: a commit may have begun meanwhile. */
    private boolean isRecorded(String name) {
        String relative = SnapshotLayout.SNAPSHOTS + "/" + name;
        return store.list().stream().anyMatch(r -> r.directory().equals(relative));
    }

    private static Finding deleted(Finding f, Path entry) {
        try {
            Trees.deleteRecursively(entry);
            return f.repairedBy("deleted");
        } catch (IOException e) {
            return Finding.problem(f.subject(), f.detail() + "; cannot delete it: " + e);
        }
    }

    private SnapshotInfo toInfo(SnapshotRecord record) {
        return toInfo(root, snapshots, record);
    }

    private static SnapshotInfo toInfo(Path root, Path snapshots, SnapshotRecord record) {
        return new SnapshotInfo(ChainId.parse(record.key()),
                record.parent() == null ? null : ChainId.parse(record.parent()),
                directoryOf(root, snapshots, record).resolve(SnapshotLayout.FS), record.size(), record.inodes());
    }

    private Path directoryOf(SnapshotRecord record) {
        return directoryOf(root, snapshots, record);
    }

    /** A record's directory, which must lie in {@code snapshots/}: the database is not trusted with paths. */
    private static Path directoryOf(Path root, Path snapshots, SnapshotRecord record) {
        Path dir = root.resolve(record.directory()).normalize();
        if (!snapshots.equals(dir.getParent())) {
            throw SinglepullException.internal(
                    "snapshot " + record.key() + " has directory '" + record.directory() + "' outside " + snapshots,
                    null);
        }
        return dir;
    }

    private Path own(Staging staging) {
        Path dir = staging.directory().toAbsolutePath().normalize();
        if (!snapshots.equals(dir.getParent()) || !SnapshotLayout.isStaging(dir)) {
            throw SinglepullException.invalidArgument("not a staging directory of " + snapshots + ": " + dir);
        }
        return dir;
    }

    /** Undoes a commit that failed: its directory first, then its record, which thus never lacks a directory. */
    private void discard(Path moved, Staging staging, SnapshotRecord record) {
        deleteQuietly(moved != null ? moved : staging.directory());
        if (record != null) {
            try {
                store.delete(record.key());
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "cannot drop the record of the failed commit of {0} (the next start will): {1}",
                        record.key(), e);
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            Trees.deleteRecursively(dir);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot delete {0} (the next start will): {1}", dir, e);
        }
    }
}
