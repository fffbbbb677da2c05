package dev.singlepull.content.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.Digest;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReachabilityMarkerTest {
    private static Digest digest(String seed) {
        return Digest.sha256(seed.getBytes());
    }

    @Test
    void refLabelNames() {
        assertTrue(ReachabilityMarker.isRefLabel("containerd.io/gc.ref.content"));
        assertTrue(ReachabilityMarker.isRefLabel("containerd.io/gc.ref.content.l.0"));
        assertTrue(ReachabilityMarker.isRefLabel("containerd.io/gc.ref.snapshot.overlayfs"));
        assertFalse(ReachabilityMarker.isRefLabel("containerd.io/gc.ref.contents"));
        assertFalse(ReachabilityMarker.isRefLabel("containerd.io/gc.root"));
        assertFalse(ReachabilityMarker.isRefLabel("org.opencontainers.image.ref.name"));
    }

    @Test
    void cyclesTerminateAndBadValuesAreIgnored() {
        ReachabilityMarker marker = new ReachabilityMarker();
        marker.label(digest("a"), "containerd.io/gc.ref.content.next", digest("b").toString());
        marker.label(digest("b"), "containerd.io/gc.ref.content.next", digest("a").toString());
        marker.label(digest("b"), "containerd.io/gc.ref.content.bad", "not a digest");
        marker.label(digest("b"), "unrelated", digest("c").toString());
        marker.contentRoot(digest("a"));
        MetadataDb.Reachable marked = marker.mark();
        assertEquals(Set.of(digest("a"), digest("b")), marked.content());
        assertEquals(Set.of(), marked.snapshots());
    }

    @Test
    void snapshotRootsFollowParentsWhateverTheOrderOfCalls() {
        ReachabilityMarker marker = new ReachabilityMarker();
        marker.snapshotRoot("c3");
        marker.snapshot("c3", "c2");
        marker.snapshot("c2", "c1");
        marker.snapshot("c1", null);
        marker.snapshot("x", "c1");
        assertEquals(Set.of("c1", "c2", "c3"), marker.mark().snapshots());
    }
}
