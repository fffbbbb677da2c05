package dev.singlepull.unpack.snapshot;

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
 * <p>Commit order: measure and fsync every file and directory of the staging tree, rename the staging directory to
 * {@code snapshots/<n>} ({@code n} from {@link SnapshotStore#nextId()}), fsync {@code snapshots/}, then insert the
 * record. A record therefore always names a complete, durable directory; a crash leaves at most a staging directory
 * or an unrecorded {@code snapshots/<n>}, both deleted when the next instance starts (the root's lock keeps a second
 * process away meanwhile).
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

    /** Opens the snapshot area of {@code root}, creating it if needed, and deletes what crashed runs left. */
    public DirectorySnapshotter(Path root, SnapshotStore store) {
        this(root, store, Clock.systemUTC());
    }

    /** As {@link #DirectorySnapshotter(Path, SnapshotStore)}, with the clock that stamps records. */
    public DirectorySnapshotter(Path root, SnapshotStore store, Clock clock) {
        this.root = root.toAbsolutePath().normalize();
        this.snapshots = this.root.resolve(SnapshotLayout.SNAPSHOTS);
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        try {
            Files.createDirectories(snapshots);
        } catch (IOException e) {
            throw Trees.failure("cannot create " + snapshots, e);
        }
        recover();
    }

    @Override
    public Optional<SnapshotInfo> stat(ChainId chainId) {
        return store.get(chainId.toString()).map(this::toInfo);
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
        Optional<SnapshotInfo> existing = stat(chainId);
        if (existing.isPresent()) {
            abort(staging);
            return existing.get();
        }
        Path moved = null;
        try {
            Trees.Usage usage = Trees.measureAndSync(staging.fs());
            Trees.fsync(dir);
            String relative = SnapshotLayout.relativeDirectory(store.nextId());
            Path target = root.resolve(relative);
            Files.move(dir, target, StandardCopyOption.ATOMIC_MOVE);
            moved = target;
            Trees.fsync(snapshots);
            var record = new SnapshotRecord(chainId.toString(), parent == null ? null : parent.toString(), relative,
                    usage.size(), usage.inodes(), clock.instant());
            try {
                store.insert(record);
            } catch (SinglepullException e) {
                if (e.kind() == ErrorKind.ALREADY_EXISTS) {
                    deleteQuietly(target);
                    return stat(chainId).orElseThrow(() -> e);
                }
                throw e;
            }
            return toInfo(record);
        } catch (IOException e) {
            discard(moved, staging);
            throw Trees.failure("cannot commit the snapshot of chain " + chainId, e);
        } catch (RuntimeException e) {
            discard(moved, staging);
            throw e;
        }
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
        return store.list().stream().map(this::toInfo).toList();
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
                return store.list().stream().map(SnapshotRecord::key).collect(Collectors.toSet());
            }

            @Override
            public long remove(String id) {
                return DirectorySnapshotter.this.remove(id);
            }
        };
    }

    private long remove(String key) {
        Optional<SnapshotRecord> record = store.get(key);
        if (record.isEmpty()) {
            return 0;
        }
        store.delete(key);
        Path dir = directoryOf(record.get());
        try {
            Trees.deleteRecursively(dir);
        } catch (IOException e) {
            // the record is gone, so the directory is an orphan that the next start deletes
            throw Trees.failure("snapshot " + key + " removed, but its directory " + dir + " was not", e);
        }
        return record.get().size();
    }

    /** Deletes staging leftovers, directories without a record, and records without a directory. */
    private void recover() {
        Set<String> recorded = new HashSet<>();
        for (SnapshotRecord record : store.list()) {
            Path dir = directoryOf(record);
            if (Files.isDirectory(dir.resolve(SnapshotLayout.FS))) {
                recorded.add(dir.getFileName().toString());
            } else {
                LOG.log(Level.WARNING, "snapshot {0} has no directory {1}; dropping its record", record.key(), dir);
                store.delete(record.key());
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

    private void discard(Path moved, Staging staging) {
        if (moved != null) {
            deleteQuietly(moved);
        } else {
            deleteQuietly(staging.directory());
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
