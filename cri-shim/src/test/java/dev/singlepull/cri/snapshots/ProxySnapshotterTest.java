package dev.singlepull.cri.snapshots;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.meta.GarbageCollector;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.meta.RuntimeSnapshot.Kind;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.snapshot.DirectorySnapshotter;
import dev.singlepull.unpack.snapshot.SnapshotSync;
import dev.singlepull.unpack.snapshot.Staging;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProxySnapshotterTest {
    private static final String BASE = "sha256:" + "a".repeat(64);
    private static final String TOP = "sha256:" + "b".repeat(64);
    private static final String LONE = "sha256:" + "c".repeat(64);

    @TempDir
    Path root;

    private MetadataDb db;
    private DirectorySnapshotter layers;
    private GarbageCollector gc;
    private ProxySnapshotter snapshots;

    @BeforeEach
    void open() throws IOException {
        openAll();
        layer(BASE, null, "base.txt");
        layer(TOP, BASE, "top.txt");
        layer(LONE, null, "lone.txt");
    }

    private void openAll() {
        db = MetadataDb.open(root.resolve("meta.db"));
        layers = new DirectorySnapshotter(root, db.snapshots(), Clock.systemUTC(), SnapshotSync.NONE);
        gc = new GarbageCollector(db, List.of(layers.collector()));
        snapshots = new ProxySnapshotter(root, db, layers, gc);
    }

    @AfterEach
    void close() {
        db.close();
    }

    private void layer(String chainId, String parent, String file) throws IOException {
        Staging staging = layers.prepare();
        Files.writeString(staging.fs().resolve(file), file);
        layers.commit(staging, ChainId.parse(chainId), parent == null ? null : ChainId.parse(parent));
    }

    private Path layerDir(String chainId) {
        return layers.fsPath(ChainId.parse(chainId));
    }

    private static ErrorKind kindOf(Runnable action) {
        return assertThrows(SinglepullException.class, action::run).kind();
    }

    @Test
    void everyLayerIsACommittedSnapshotNamedByItsChainIdWithTheRefLabel() {
        SnapshotEntry top = snapshots.stat(TOP);
        assertEquals(Kind.COMMITTED, top.kind());
        assertEquals(BASE, top.parent());
        assertEquals(Map.of(ProxySnapshotter.SNAPSHOT_REF, TOP), top.labels());
        assertEquals(List.of(BASE, TOP, LONE).stream().sorted().toList(),
                snapshots.list(e -> true).stream().map(SnapshotEntry::name).toList());
    }

    @Test
    void prepareForALayerTheStoreHasAnswersAlreadyExistsAndCreatesNothing() {
        assertEquals(ErrorKind.ALREADY_EXISTS, kindOf(() -> snapshots.prepare("k8s.io/1/extract-1 " + TOP, BASE,
                Map.of(ProxySnapshotter.SNAPSHOT_REF, TOP))));
        assertEquals(ErrorKind.ALREADY_EXISTS, kindOf(() -> snapshots.prepare("k8s.io/2/extract-2 " + BASE, "",
                Map.of(ProxySnapshotter.SNAPSHOT_REF, BASE))));
        assertTrue(db.runtimeSnapshots().list().isEmpty());
        // containerd then looks the target up with this filter, and must find exactly it
        List<SnapshotEntry> found = snapshots.list(SnapshotFilters.anyOf(List.of(
                "labels.\"containerd.io/snapshot.ref\"==" + TOP + ",parent==\"" + BASE + "\"")));
        assertEquals(List.of(TOP), found.stream().map(SnapshotEntry::name).toList());
    }

    @Test
    void aTargetOverAnotherParentIsAnOrdinaryActiveSnapshot() {
        List<SnapshotMount> mounts = snapshots.prepare("k8s.io/3/extract " + TOP, LONE,
                Map.of(ProxySnapshotter.SNAPSHOT_REF, TOP));
        assertEquals("overlay", mounts.getFirst().type());
        assertEquals(Kind.ACTIVE, snapshots.stat("k8s.io/3/extract " + TOP).kind());
    }

    @Test
    void activeSnapshotOnALayerIsAnOverlayNearestParentFirst() {
        List<SnapshotMount> mounts = snapshots.prepare("k8s.io/4/container", TOP, Map.of("x", "y"));
        assertEquals(1, mounts.size());
        SnapshotMount m = mounts.getFirst();
        assertEquals("overlay", m.type());
        assertEquals("lowerdir=" + layerDir(TOP) + ":" + layerDir(BASE), m.options().get(2));
        Path upper = Path.of(m.options().get(1).substring("upperdir=".length()));
        Path work = Path.of(m.options().get(0).substring("workdir=".length()));
        assertTrue(Files.isDirectory(upper) && Files.isDirectory(work));
        assertTrue(upper.startsWith(root.resolve("runtime-snapshots")));
        assertEquals(mounts, snapshots.mounts("k8s.io/4/container"));
        assertEquals(Map.of("x", "y"), snapshots.stat("k8s.io/4/container").labels());
    }

    @Test
    void withoutParentABindMountReadOnlyForViews() {
        SnapshotMount rw = snapshots.prepare("empty", "", Map.of()).getFirst();
        assertEquals("bind", rw.type());
        assertEquals(List.of("rbind", "rw"), rw.options());
        SnapshotMount one = snapshots.view("view-one", BASE, Map.of()).getFirst();
        assertEquals(new SnapshotMount("bind", layerDir(BASE).toString(), List.of("rbind", "ro")), one);
        SnapshotMount two = snapshots.view("view-two", TOP, Map.of()).getFirst();
        assertEquals(new SnapshotMount("overlay", "overlay",
                List.of("lowerdir=" + layerDir(TOP) + ":" + layerDir(BASE))), two);
        assertEquals(Kind.VIEW, snapshots.stat("view-two").kind());
        assertEquals(ErrorKind.FAILED_PRECONDITION, kindOf(() -> snapshots.commit("x", "view-two", Map.of())));
    }

    @Test
    void commitOfWhatTheRuntimeUnpackedMakesANewParent() throws IOException {
        SnapshotMount m = snapshots.prepare("extract-9", "", Map.of(ProxySnapshotter.SNAPSHOT_REF, "sha256:own"))
                .getFirst();
        Files.writeString(Path.of(m.source()).resolve("own.txt"), "12345");
        snapshots.commit("k8s.io/5/sha256:own", "extract-9", Map.of("c", "d"));
        SnapshotEntry committed = snapshots.stat("k8s.io/5/sha256:own");
        assertEquals(Kind.COMMITTED, committed.kind());
        assertEquals("d", committed.labels().get("c"));
        assertEquals(ErrorKind.NOT_FOUND, kindOf(() -> snapshots.stat("extract-9")));
        assertEquals(5, snapshots.usage("k8s.io/5/sha256:own").size());
        assertEquals(ErrorKind.FAILED_PRECONDITION, kindOf(() -> snapshots.mounts("k8s.io/5/sha256:own")));
        assertEquals(ErrorKind.ALREADY_EXISTS, kindOf(() -> snapshots.prepare("again", "",
                Map.of(ProxySnapshotter.SNAPSHOT_REF, "sha256:own"))), "a target the runtime committed exists too");
        SnapshotMount over = snapshots.prepare("c2", "k8s.io/5/sha256:own", Map.of()).getFirst();
        assertEquals("lowerdir=" + Path.of(m.source()), over.options().get(2));
    }

    @Test
    void errorsNameWhatIsWrong() {
        assertEquals(ErrorKind.NOT_FOUND, kindOf(() -> snapshots.prepare("k", "no-such-parent", Map.of())));
        snapshots.prepare("active", BASE, Map.of());
        assertEquals(ErrorKind.FAILED_PRECONDITION, kindOf(() -> snapshots.prepare("k", "active", Map.of())));
        assertEquals(ErrorKind.ALREADY_EXISTS, kindOf(() -> snapshots.prepare("active", BASE, Map.of())));
        assertEquals(ErrorKind.ALREADY_EXISTS, kindOf(() -> snapshots.prepare(TOP, BASE, Map.of())));
        assertEquals(ErrorKind.INVALID_ARGUMENT, kindOf(() -> snapshots.prepare("", BASE, Map.of())));
        assertEquals(ErrorKind.NOT_FOUND, kindOf(() -> snapshots.mounts("none")));
        assertEquals(ErrorKind.NOT_FOUND, kindOf(() -> snapshots.remove("none")));
        assertEquals(ErrorKind.ALREADY_EXISTS, kindOf(() -> snapshots.commit(BASE, "active", Map.of())));
        assertEquals(1, db.runtimeSnapshots().list().size(), "failed calls left no record");
    }

    @Test
    void removeOfALayerKeepsItAndRemoveOfARuntimeSnapshotNeedsNoChildren() {
        snapshots.prepare("extract", "", Map.of());
        snapshots.commit("committed", "extract", Map.of());
        snapshots.prepare("child", "committed", Map.of());
        Path childDir = Path.of(snapshots.mounts("child").getFirst().options().get(1).substring("upperdir=".length()))
                .getParent();
        snapshots.remove(TOP);
        assertEquals(Kind.COMMITTED, snapshots.stat(TOP).kind(), "the layer stays");
        assertTrue(Files.exists(layerDir(TOP).resolve("top.txt")));
        assertEquals(ErrorKind.FAILED_PRECONDITION, kindOf(() -> snapshots.remove("committed")));
        snapshots.remove("child");
        assertFalse(Files.exists(childDir));
        snapshots.remove("committed");
        assertTrue(db.runtimeSnapshots().list().isEmpty());
    }

    @Test
    void garbageCollectionKeepsTheLayersUnderARuntimeSnapshot() {
        snapshots.prepare("k8s.io/6/container", TOP, Map.of());
        GarbageCollector.Result result = gc.collect();
        assertEquals(List.of(LONE), result.removed().get("snapshot"), "no image references the layers: only "
                + "the one no container sits on goes");
        assertTrue(Files.exists(layerDir(BASE)) && Files.exists(layerDir(TOP)));
        snapshots.remove("k8s.io/6/container");
        assertEquals(2, gc.collect().count());
    }

    @Test
    void updateChangesLabelsOnlyAndALayerKeepsItsRef() {
        snapshots.prepare("a", "", Map.of("one", "1", "two", "2"));
        assertEquals(Map.of("one", "1", "three", "3"),
                snapshots.update("a", Map.of("three", "3"), List.of("labels.two", "labels.three")).labels());
        assertEquals(Map.of("four", "4"), snapshots.update("a", Map.of("four", "4"), List.of()).labels());
        assertEquals(ErrorKind.INVALID_ARGUMENT, kindOf(() -> snapshots.update("a", Map.of(), List.of("parent"))));
        SnapshotEntry layer = snapshots.update(BASE, Map.of("containerd.io/snapshot/x", "v"), List.of());
        assertEquals(Map.of("containerd.io/snapshot/x", "v", ProxySnapshotter.SNAPSHOT_REF, BASE), layer.labels());
    }

    @Test
    void usageCountsTheSnapshotsOwnFiles() throws IOException {
        Path upper = Path.of(snapshots.prepare("a", BASE, Map.of()).getFirst().options().get(1)
                .substring("upperdir=".length()));
        Files.write(upper.resolve("f"), new byte[1000]);
        Files.createDirectories(upper.resolve("d"));
        var usage = snapshots.usage("a");
        assertEquals(1000, usage.size());
        assertEquals(3, usage.inodes(), "the upper directory, f and d");
        assertEquals(db.snapshot(BASE).orElseThrow().size(), snapshots.usage(BASE).size());
    }

    @Test
    void cleanupRemovesDirectoriesNoRecordNamesAndStateSurvivesARestart() throws IOException {
        snapshots.prepare("kept", TOP, Map.of("l", "v"));
        Path stray = root.resolve("runtime-snapshots/999");
        Files.createDirectories(stray.resolve("fs"));
        assertEquals(1, snapshots.cleanup());
        assertFalse(Files.exists(stray));
        List<SnapshotMount> before = snapshots.mounts("kept");
        db.close();
        openAll();
        assertEquals(before, snapshots.mounts("kept"));
        assertEquals(Map.of("l", "v"), snapshots.stat("kept").labels());
        assertEquals(0, snapshots.cleanup());
    }

    @Test
    void aLayerOverTheRuntimesOwnCopyOfItsParentStandsThereAsAnAlias() throws IOException {
        // the runtime unpacked the bottom layer itself (say, for its sandbox image) before singlepull had it
        Path ownFs = Path.of(snapshots.prepare("extract-own", "", Map.of(ProxySnapshotter.SNAPSHOT_REF, "x"))
                .getFirst().source());
        snapshots.commit("k8s.io/2/own-base", "extract-own", Map.of(ProxySnapshotter.SNAPSHOT_REF, BASE));
        String ref = ProxySnapshotter.SNAPSHOT_REF;
        assertEquals(ErrorKind.ALREADY_EXISTS, kindOf(() -> snapshots.prepare("k8s.io/3/extract " + TOP,
                "k8s.io/2/own-base", Map.of(ref, TOP))));
        List<SnapshotEntry> found = snapshots.list(SnapshotFilters.anyOf(List.of(
                "labels.\"" + ref + "\"==" + TOP + ",parent==\"k8s.io/2/own-base\"")));
        assertEquals(1, found.size());
        String alias = found.getFirst().name();
        assertEquals(Kind.COMMITTED, found.getFirst().kind());
        assertEquals(ErrorKind.ALREADY_EXISTS, kindOf(() -> snapshots.prepare("k8s.io/5/extract " + TOP,
                "k8s.io/2/own-base", Map.of(ref, TOP))), "asked again, the same alias answers");
        assertEquals(2, db.runtimeSnapshots().list().size(), "own base and one alias, nothing more");
        assertEquals(db.snapshot(TOP).orElseThrow().size(), snapshots.usage(alias).size());

        SnapshotMount m = snapshots.prepare("k8s.io/4/container", alias, Map.of()).getFirst();
        assertEquals("lowerdir=" + layerDir(TOP) + ":" + ownFs, m.options().get(2),
                "the layer's own files over the runtime's copy of its parent");
        GarbageCollector.Result result = gc.collect();
        assertEquals(List.of(LONE), result.removed().get("snapshot"), "the alias keeps its layer");
    }
}
