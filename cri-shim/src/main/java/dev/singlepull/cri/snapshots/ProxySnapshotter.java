package dev.singlepull.cri.snapshots;

import dev.singlepull.content.meta.GarbageCollector;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.meta.RuntimeSnapshot;
import dev.singlepull.content.meta.RuntimeSnapshot.Kind;
import dev.singlepull.content.meta.SnapshotRecord;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import dev.singlepull.unpack.snapshot.Snapshotter;
import dev.singlepull.unpack.snapshot.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * containerd's snapshotter contract over singlepull's store. Every committed layer of the store is a committed
 * snapshot named by its ChainID, with its parent's ChainID and the label {@value #SNAPSHOT_REF} = its ChainID;
 * preparing a snapshot whose {@value #SNAPSHOT_REF} label names such a layer (with the same parent) answers
 * ALREADY_EXISTS, which tells containerd the layer is already unpacked. Everything else is an overlay snapshotter:
 * active snapshots and views get a directory under {@code <root>/runtime-snapshots} ({@code fs} is the overlay upper
 * directory, {@code work} its work directory), and their records live in the metadata database
 * ({@link dev.singlepull.content.meta.RuntimeSnapshotStore}), so they survive restarts of either process.
 *
 * <p>Layer lifetime stays singlepull's: {@link #remove} of a layer changes nothing (containerd's garbage collection
 * removes every snapshot it does not reference, layers of singlepull's images included), and singlepull's garbage
 * collection treats every runtime snapshot as a root, so it never frees a layer under a container. A snapshot is
 * created while no collection runs, so a collection that has already marked cannot free its parent afterwards.
 *
 * <p>Errors: NOT_FOUND for an unknown snapshot or parent, ALREADY_EXISTS for a name in use (or a target layer that
 * exists), FAILED_PRECONDITION for a parent that is not committed, a commit of what is not active, the mounts of a
 * committed snapshot or the removal of one with children; INVALID_ARGUMENT for an empty key or an update of an
 * immutable field. Thread-safe: changes are serialized, reads are not.
 */
public final class ProxySnapshotter {
    /** The label naming the committed snapshot a Prepare is for (containerd's remote-snapshotter protocol). */
    public static final String SNAPSHOT_REF = "containerd.io/snapshot.ref";
    static final String AREA = "runtime-snapshots";
    private static final int MAX_LABEL_BYTES = 4096;
    private static final System.Logger LOG = System.getLogger(ProxySnapshotter.class.getName());

    private final Path root;
    private final Path area;
    private final MetadataDb db;
    private final Snapshotter layers;
    private final GarbageCollector gc;

    /**
     * @param root   singlepull's root
     * @param db     the metadata database: layer records and runtime snapshot records
     * @param layers the store's layers, for their directories
     * @param gc     the store's garbage collection, kept out while a snapshot is created on a layer
     */
    public ProxySnapshotter(Path root, MetadataDb db, Snapshotter layers, GarbageCollector gc) {
        this.root = root.toAbsolutePath().normalize();
        this.area = this.root.resolve(AREA);
        this.db = db;
        this.layers = layers;
        this.gc = gc;
        try {
            Files.createDirectories(area);
        } catch (IOException e) {
            throw Trees.failure("cannot create " + area, e);
        }
    }

    /** Creates an active snapshot {@code key} over {@code parent} (empty: none) and answers its mounts. */
    public List<SnapshotMount> prepare(String key, String parent, Map<String, String> labels) {
        return create(key, parent, labels, Kind.ACTIVE);
    }

    /** Creates a read-only view {@code key} of {@code parent} (empty: none) and answers its mounts. */
    public List<SnapshotMount> view(String key, String parent, Map<String, String> labels) {
        return create(key, parent, labels, Kind.VIEW);
    }

    private synchronized List<SnapshotMount> create(String key, String parentName, Map<String, String> labels,
                                                    Kind kind) {
        requireName(key, "key");
        checkLabels(labels);
        String parent = parentName == null || parentName.isEmpty() ? null : parentName;
        String target = labels.get(SNAPSHOT_REF);
        if (target != null && committedTarget(target, parent).isPresent()) {
            throw new SinglepullException(ErrorKind.ALREADY_EXISTS, "target snapshot " + target + " already exists");
        }
        if (target != null && parent != null && aliasable(target, parent)) {
            alias(target, parent);
            throw new SinglepullException(ErrorKind.ALREADY_EXISTS, "target snapshot " + target + " already exists "
                    + "(over " + parent + ")");
        }
        if (find(key).isPresent()) {
            throw new SinglepullException(ErrorKind.ALREADY_EXISTS, "snapshot " + key + " already exists");
        }
        long id = db.runtimeSnapshots().nextId();
        String directory = AREA + "/" + id;
        Path dir = root.resolve(directory);
        try {
            Files.createDirectories(dir.resolve("fs"));
            if (kind == Kind.ACTIVE && parent != null) {
                Files.createDirectories(dir.resolve("work"));
            }
        } catch (IOException e) {
            deleteQuietly(dir);
            throw Trees.failure("cannot create the directories of snapshot " + key, e);
        }
        try {
            gc.whileNotCollecting(() -> {
                if (parent != null) {
                    SnapshotEntry p = find(parent).orElseThrow(() -> SinglepullException.notFound(
                            "parent snapshot " + parent + " does not exist"));
                    if (p.kind() != Kind.COMMITTED) {
                        throw SinglepullException.failedPrecondition("parent snapshot " + parent + " is not committed");
                    }
                }
                db.runtimeSnapshots().insert(new RuntimeSnapshot(key, parent, kind, directory, labels, null, null));
                return null;
            });
        } catch (RuntimeException e) {
            deleteQuietly(dir);
            throw e;
        }
        return mountsOf(db.runtimeSnapshots().get(key).orElseThrow());
    }

    /**
     * True if layer {@code target} is in the store and {@code parent} is a committed runtime snapshot with the same
     * files as the layer's parent: one the runtime unpacked itself (or an alias) whose {@value #SNAPSHOT_REF} label
     * is that parent's ChainID. A ChainID names the content of a whole stack, so the layer fits on it as well.
     */
    private boolean aliasable(String target, String parent) {
        Optional<SnapshotRecord> layer = layer(target);
        if (layer.isEmpty() || layer.get().parent() == null) {
            return false;
        }
        return db.runtimeSnapshots().get(parent)
                .filter(p -> p.kind() == Kind.COMMITTED && layer.get().parent().equals(p.labels().get(SNAPSHOT_REF)))
                .isPresent();
    }

    /**
     * Records a committed snapshot that stands for layer {@code target} over the runtime's own {@code parent}: its
     * files are the layer's, its parent is {@code parent}. The runtime finds it by its {@value #SNAPSHOT_REF} label
     * and parent, as for any target, and a collection keeps the layer while the alias exists.
     */
    private void alias(String target, String parent) {
        long id = db.runtimeSnapshots().nextId();
        String directory = AREA + "/" + id;
        Path dir = root.resolve(directory);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw Trees.failure("cannot create " + dir, e);
        }
        String name = "singlepull-alias/" + id + "/" + target;
        try {
            gc.whileNotCollecting(() -> {
                if (layer(target).isEmpty()) {
                    throw SinglepullException.notFound("layer " + target + " is gone");
                }
                db.runtimeSnapshots().insert(new RuntimeSnapshot(name, parent, Kind.COMMITTED, directory,
                        Map.of(SNAPSHOT_REF, target), null, null, target));
                return null;
            });
        } catch (RuntimeException e) {
            deleteQuietly(dir);
            throw e;
        }
        LOG.log(System.Logger.Level.INFO, "snapshots: layer {0} stands over the runtime''s own {1} as {2}", target,
                parent, name);
    }

    /** The mounts of the active snapshot or view {@code key}. */
    public List<SnapshotMount> mounts(String key) {
        RuntimeSnapshot s = db.runtimeSnapshots().get(key).orElse(null);
        if (s == null) {
            if (layer(key).isPresent()) {
                throw SinglepullException.failedPrecondition("snapshot " + key + " is committed: it has no mounts");
            }
            throw SinglepullException.notFound("snapshot " + key + " does not exist");
        }
        return mountsOf(s);
    }

    /** Commits the active snapshot {@code key} as {@code name}, with {@code labels} added to its own. */
    public synchronized void commit(String name, String key, Map<String, String> labels) {
        requireName(name, "name");
        checkLabels(labels);
        RuntimeSnapshot s = db.runtimeSnapshots().get(key)
                .orElseThrow(() -> SinglepullException.notFound("snapshot " + key + " does not exist"));
        if (s.kind() != Kind.ACTIVE) {
            throw SinglepullException.failedPrecondition("snapshot " + key + " is not active: only an active "
                    + "snapshot is committed");
        }
        if (layer(name).isPresent()) {
            throw new SinglepullException(ErrorKind.ALREADY_EXISTS, "snapshot " + name + " already exists");
        }
        if (!db.runtimeSnapshots().commit(key, name, labels)) {
            throw SinglepullException.notFound("snapshot " + key + " is no longer active");
        }
        deleteQuietly(root.resolve(s.directory()).resolve("work"));
    }

    /**
     * Removes the runtime snapshot {@code key}, which must have no children. A layer of singlepull's store is left in
     * place: its lifetime is singlepull's garbage collection's to decide.
     */
    public synchronized void remove(String key) {
        Optional<RuntimeSnapshot> found = db.runtimeSnapshots().get(key);
        if (found.isEmpty()) {
            if (layer(key).isPresent()) {
                LOG.log(System.Logger.Level.DEBUG, "snapshots: Remove of layer {0} kept: singlepull's garbage "
                        + "collection decides when a layer goes", key);
                return;
            }
            throw SinglepullException.notFound("snapshot " + key + " does not exist");
        }
        List<String> children = db.runtimeSnapshots().children(key);
        if (!children.isEmpty()) {
            throw SinglepullException.failedPrecondition("snapshot " + key + " has " + children.size()
                    + " child snapshot(s), such as " + children.getFirst() + "; remove them first");
        }
        db.runtimeSnapshots().delete(key);
        deleteQuietly(directoryOf(found.get()));
    }

    /** The snapshot named {@code name}. */
    public SnapshotEntry stat(String name) {
        return find(name).orElseThrow(() -> SinglepullException.notFound("snapshot " + name + " does not exist"));
    }

    /**
     * Changes the labels of {@code name}: with no {@code paths} (or {@code labels}) they become {@code labels};
     * with {@code labels.KEY} paths only those keys change (removed when absent from {@code labels}). A layer keeps
     * its {@value #SNAPSHOT_REF} label whatever is asked.
     */
    public synchronized SnapshotEntry update(String name, Map<String, String> labels, List<String> paths) {
        SnapshotEntry current = stat(name);
        checkLabels(labels);
        Map<String, String> next;
        if (paths.isEmpty() || paths.contains("labels")) {
            next = new HashMap<>(labels);
        } else {
            next = new HashMap<>(current.labels());
            for (String path : paths) {
                if (!path.startsWith("labels.")) {
                    throw SinglepullException.invalidArgument("cannot update field '" + path + "' of snapshot " + name
                            + ": only its labels change");
                }
                String key = path.substring("labels.".length());
                if (labels.containsKey(key)) {
                    next.put(key, labels.get(key));
                } else {
                    next.remove(key);
                }
            }
        }
        if (layer(name).isPresent()) {
            next.remove(SNAPSHOT_REF);
        }
        db.runtimeSnapshots().replaceLabels(name, next);
        return stat(name);
    }

    /** Every snapshot that {@code filter} accepts: the store's layers, then the runtime's snapshots. */
    public List<SnapshotEntry> list(Predicate<SnapshotEntry> filter) {
        List<SnapshotEntry> out = new ArrayList<>();
        for (SnapshotRecord r : db.snapshots().list()) {
            if (r.isCommitted()) {
                SnapshotEntry e = layerEntry(r);
                if (filter.test(e)) {
                    out.add(e);
                }
            }
        }
        for (RuntimeSnapshot s : db.runtimeSnapshots().list()) {
            SnapshotEntry e = entry(s);
            if (filter.test(e)) {
                out.add(e);
            }
        }
        return out;
    }

    /** Bytes and inodes {@code name} uses by itself (its own directory, not its parents'). */
    public Trees.Usage usage(String name) {
        Optional<RuntimeSnapshot> s = db.runtimeSnapshots().get(name);
        if (s.isPresent() && s.get().layer() != null) {
            return layer(s.get().layer()).map(r -> new Trees.Usage(r.size(), r.inodes()))
                    .orElse(new Trees.Usage(0, 0));
        }
        if (s.isPresent()) {
            try {
                return Trees.measure(directoryOf(s.get()).resolve("fs"));
            } catch (IOException e) {
                throw Trees.failure("cannot measure snapshot " + name, e);
            }
        }
        SnapshotRecord r = layer(name).orElseThrow(() -> SinglepullException.notFound("snapshot " + name
                + " does not exist"));
        return new Trees.Usage(r.size(), r.inodes());
    }

    /** Deletes directories under {@code runtime-snapshots} that no record names (left by removals or crashes). */
    public synchronized int cleanup() {
        Set<Path> named = new HashSet<>();
        for (RuntimeSnapshot s : db.runtimeSnapshots().list()) {
            named.add(directoryOf(s));
        }
        int removed = 0;
        try (var children = Files.newDirectoryStream(area)) {
            for (Path child : children) {
                if (!named.contains(child.toAbsolutePath().normalize())) {
                    Trees.deleteRecursively(child);
                    removed++;
                }
            }
        } catch (IOException e) {
            throw Trees.failure("cannot clean up " + area, e);
        }
        return removed;
    }

    private List<SnapshotMount> mountsOf(RuntimeSnapshot s) {
        if (s.kind() == Kind.COMMITTED) {
            throw SinglepullException.failedPrecondition("snapshot " + s.name() + " is committed: it has no mounts");
        }
        Path dir = directoryOf(s);
        List<String> lowers = lowerDirectories(s.parent());
        if (s.kind() == Kind.ACTIVE) {
            if (lowers.isEmpty()) {
                return List.of(new SnapshotMount("bind", dir.resolve("fs").toString(), List.of("rbind", "rw")));
            }
            return List.of(new SnapshotMount("overlay", "overlay", List.of(
                    "workdir=" + dir.resolve("work"),
                    "upperdir=" + dir.resolve("fs"),
                    "lowerdir=" + String.join(":", lowers))));
        }
        if (lowers.isEmpty()) {
            return List.of(new SnapshotMount("bind", dir.resolve("fs").toString(), List.of("rbind", "ro")));
        }
        if (lowers.size() == 1) {
            return List.of(new SnapshotMount("bind", lowers.getFirst(), List.of("rbind", "ro")));
        }
        return List.of(new SnapshotMount("overlay", "overlay", List.of("lowerdir=" + String.join(":", lowers))));
    }

    /** The {@code fs} directories of {@code parent} and the snapshots below it, nearest first. */
    private List<String> lowerDirectories(String parent) {
        List<String> out = new ArrayList<>();
        for (String next = parent; next != null; ) {
            Optional<RuntimeSnapshot> s = db.runtimeSnapshots().get(next);
            if (s.isPresent() && s.get().layer() != null) {
                String layer = s.get().layer();
                out.add(layerInfo(layer).orElseThrow(() -> SinglepullException.notFound("layer " + layer + " of "
                        + "snapshot " + s.get().name() + " is gone")).directory().toString());
                next = s.get().parent();
            } else if (s.isPresent()) {
                out.add(directoryOf(s.get()).resolve("fs").toString());
                next = s.get().parent();
            } else {
                String name = next;
                SnapshotInfo info = layerInfo(name).orElseThrow(() -> SinglepullException.notFound(
                        "snapshot " + name + " below " + parent + " does not exist"));
                out.add(info.directory().toString());
                next = info.parent() == null ? null : info.parent().toString();
            }
            if (out.size() > 10_000) {
                throw SinglepullException.internal("the snapshot chain of " + parent + " loops", null);
            }
        }
        return out;
    }

    /** A committed snapshot that a Prepare naming {@code target} over {@code parent} is for, if there is one. */
    private Optional<SnapshotEntry> committedTarget(String target, String parent) {
        Optional<SnapshotRecord> layer = layer(target);
        if (layer.isPresent() && Objects.equals(layer.get().parent(), parent)) {
            return Optional.of(layerEntry(layer.get()));
        }
        return db.runtimeSnapshots().list().stream()
                .filter(s -> s.kind() == Kind.COMMITTED && target.equals(s.labels().get(SNAPSHOT_REF))
                        && Objects.equals(s.parent(), parent))
                .findFirst().map(ProxySnapshotter::entry);
    }

    private Optional<SnapshotEntry> find(String name) {
        Optional<RuntimeSnapshot> s = db.runtimeSnapshots().get(name);
        if (s.isPresent()) {
            return s.map(ProxySnapshotter::entry);
        }
        return layer(name).map(this::layerEntry);
    }

    /** The committed layer record named {@code name}, if {@code name} is a ChainID the store has. */
    private Optional<SnapshotRecord> layer(String name) {
        if (!name.startsWith("sha256:")) {
            return Optional.empty();
        }
        return db.snapshots().get(name).filter(SnapshotRecord::isCommitted);
    }

    private Optional<SnapshotInfo> layerInfo(String name) {
        if (layer(name).isEmpty()) {
            return Optional.empty();
        }
        return layers.stat(ChainId.parse(name));
    }

    private SnapshotEntry layerEntry(SnapshotRecord r) {
        Map<String, String> labels = new HashMap<>(db.runtimeSnapshots().labels(r.key()));
        labels.put(SNAPSHOT_REF, r.key());
        return new SnapshotEntry(r.key(), r.parent(), Kind.COMMITTED, labels, r.created(), r.created());
    }

    private static SnapshotEntry entry(RuntimeSnapshot s) {
        return new SnapshotEntry(s.name(), s.parent(), s.kind(), s.labels(), s.created(), s.updated());
    }

    /** A runtime snapshot's directory, which must lie in the runtime area: the database is not trusted with paths. */
    private Path directoryOf(RuntimeSnapshot s) {
        Path dir = root.resolve(s.directory()).normalize();
        if (!dir.startsWith(area) || dir.equals(area)) {
            throw SinglepullException.internal("snapshot " + s.name() + " names directory " + s.directory()
                    + ", outside " + AREA, null);
        }
        return dir;
    }

    private static void requireName(String name, String what) {
        if (name == null || name.isEmpty()) {
            throw SinglepullException.invalidArgument("snapshot " + what + " must not be empty");
        }
    }

    private static void checkLabels(Map<String, String> labels) {
        for (Map.Entry<String, String> l : labels.entrySet()) {
            if (l.getKey().isEmpty()) {
                throw SinglepullException.invalidArgument("a snapshot label has an empty key");
            }
            if (l.getKey().length() + l.getValue().length() > MAX_LABEL_BYTES) {
                throw SinglepullException.invalidArgument("snapshot label " + l.getKey() + " is longer than "
                        + MAX_LABEL_BYTES + " bytes");
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            Trees.deleteRecursively(dir);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete " + dir + " (Cleanup retries): " + e);
        }
    }
}
