package dev.singlepull.content.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.testing.MutableClock;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteRuntimeSnapshotStoreTest {
    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    private SqliteMetadataDb db;

    @BeforeEach
    void open() {
        db = SqliteMetadataDb.open(dir.resolve("meta.db"), clock);
    }

    @AfterEach
    void close() {
        db.close();
    }

    private RuntimeSnapshot active(String name, String parent, Map<String, String> labels) {
        return new RuntimeSnapshot(name, parent, RuntimeSnapshot.Kind.ACTIVE, "runtime-snapshots/" + name.length(),
                labels, null, null);
    }

    @Test
    void insertGetListWithLabels() {
        db.runtimeSnapshots().insert(active("k8s.io/1/box", "sha256:top", Map.of("a", "1")));
        RuntimeSnapshot got = db.runtimeSnapshots().get("k8s.io/1/box").orElseThrow();
        assertEquals("sha256:top", got.parent());
        assertEquals(RuntimeSnapshot.Kind.ACTIVE, got.kind());
        assertEquals(Map.of("a", "1"), got.labels());
        assertEquals(clock.instant(), got.created());
        assertEquals(List.of("k8s.io/1/box"), db.runtimeSnapshots().list().stream().map(RuntimeSnapshot::name).toList());
        SinglepullException again = assertThrows(SinglepullException.class,
                () -> db.runtimeSnapshots().insert(active("k8s.io/1/box", null, Map.of())));
        assertEquals(ErrorKind.ALREADY_EXISTS, again.kind());
    }

    @Test
    void commitRenamesAnActiveSnapshotAndMergesLabels() {
        db.runtimeSnapshots().insert(active("extract-1", null, Map.of("keep", "x")));
        clock.advance(Duration.ofSeconds(5));
        assertTrue(db.runtimeSnapshots().commit("extract-1", "k8s.io/2/sha256:abc", Map.of("added", "y")));
        assertTrue(db.runtimeSnapshots().get("extract-1").isEmpty());
        RuntimeSnapshot committed = db.runtimeSnapshots().get("k8s.io/2/sha256:abc").orElseThrow();
        assertEquals(RuntimeSnapshot.Kind.COMMITTED, committed.kind());
        assertEquals(Map.of("keep", "x", "added", "y"), committed.labels());
        assertEquals(clock.instant(), committed.updated());
        assertFalse(db.runtimeSnapshots().commit("k8s.io/2/sha256:abc", "other", Map.of()),
                "a committed snapshot is not committed again");
        db.runtimeSnapshots().insert(active("extract-2", null, Map.of()));
        assertEquals(ErrorKind.ALREADY_EXISTS, assertThrows(SinglepullException.class,
                () -> db.runtimeSnapshots().commit("extract-2", "k8s.io/2/sha256:abc", Map.of())).kind());
    }

    @Test
    void childrenLabelsOfAnyNameAndDelete() {
        db.runtimeSnapshots().insert(active("a", "sha256:layer", Map.of()));
        db.runtimeSnapshots().insert(active("b", "sha256:layer", Map.of()));
        assertEquals(List.of("a", "b"), db.runtimeSnapshots().children("sha256:layer"));
        db.runtimeSnapshots().replaceLabels("sha256:layer", Map.of("containerd.io/snapshot/x", "1"));
        assertEquals(Map.of("containerd.io/snapshot/x", "1"), db.runtimeSnapshots().labels("sha256:layer"));
        db.runtimeSnapshots().delete("a");
        db.runtimeSnapshots().delete("a");
        assertEquals(List.of("b"), db.runtimeSnapshots().children("sha256:layer"));
        long first = db.runtimeSnapshots().nextId();
        assertEquals(first + 1, db.runtimeSnapshots().nextId());
    }

    @Test
    void recordsSurviveReopening() {
        db.runtimeSnapshots().insert(active("k8s.io/9/c", "sha256:layer", Map.of("l", "v")));
        db.close();
        db = SqliteMetadataDb.open(dir.resolve("meta.db"), clock);
        assertEquals(Map.of("l", "v"), db.runtimeSnapshots().get("k8s.io/9/c").orElseThrow().labels());
    }

    @Test
    void aLayerUnderARuntimeSnapshotIsReachableWithItsParents() {
        db.snapshots().insert(new SnapshotRecord("sha256:base", null, "snapshots/1", 1, 1, clock.instant()));
        db.snapshots().insert(new SnapshotRecord("sha256:top", "sha256:base", "snapshots/2", 1, 1, clock.instant()));
        db.snapshots().insert(new SnapshotRecord("sha256:other", null, "snapshots/3", 1, 1, clock.instant()));
        assertTrue(db.reachable().snapshots().isEmpty(), "no image, no lease, no container: nothing is reached");
        db.runtimeSnapshots().insert(active("k8s.io/4/container", "sha256:top", Map.of()));
        MetadataDb.Reachable reached = db.reachable();
        assertTrue(reached.snapshots().contains("sha256:top"));
        assertTrue(reached.snapshots().contains("sha256:base"));
        assertFalse(reached.snapshots().contains("sha256:other"));
    }
}
