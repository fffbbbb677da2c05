package dev.singlepull.cri.snapshots;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.meta.RuntimeSnapshot.Kind;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class SnapshotFiltersTest {
    private static final SnapshotEntry LAYER = new SnapshotEntry("sha256:top", "sha256:base", Kind.COMMITTED,
            Map.of("containerd.io/snapshot.ref", "sha256:top"), null, null);
    private static final SnapshotEntry ACTIVE = new SnapshotEntry("k8s.io/3/c", null, Kind.ACTIVE, Map.of(), null, null);

    private static Predicate<SnapshotEntry> f(String... filters) {
        return SnapshotFilters.anyOf(List.of(filters));
    }

    @Test
    void theFilterContainerdSendsAfterAlreadyExists() {
        Predicate<SnapshotEntry> p = f("labels.\"containerd.io/snapshot.ref\"==sha256:top,parent==\"sha256:base\"");
        assertTrue(p.test(LAYER));
        assertFalse(p.test(ACTIVE));
        assertFalse(f("labels.\"containerd.io/snapshot.ref\"==sha256:top,parent==\"\"").test(LAYER));
    }

    @Test
    void fieldsOperatorsAndDisjunction() {
        assertTrue(f("kind==committed").test(LAYER));
        assertFalse(f("kind==committed").test(ACTIVE));
        assertTrue(f("kind==active", "name==sha256:top").test(LAYER));
        assertTrue(f("name!=sha256:top").test(ACTIVE));
        assertTrue(f("name~=^k8s\\.io/").test(ACTIVE));
        assertTrue(f("labels.\"containerd.io/snapshot.ref\"").test(LAYER));
        assertFalse(f("labels.\"containerd.io/snapshot.ref\"").test(ACTIVE));
        assertTrue(f("parent==\"\"").test(ACTIVE));
    }

    @Test
    void whatCannotBeReadMatchesEverything() {
        assertTrue(f("no_such_field==x").test(ACTIVE));
        assertTrue(f("name==\"unbalanced").test(ACTIVE));
        assertTrue(f().test(ACTIVE));
    }
}
