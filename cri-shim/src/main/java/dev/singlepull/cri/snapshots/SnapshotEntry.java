package dev.singlepull.cri.snapshots;

import dev.singlepull.content.meta.RuntimeSnapshot;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * A snapshot as the snapshots service shows it: one of singlepull's layers (committed, named by its ChainID) or one
 * a runtime made.
 *
 * @param name   its name (a ChainID for a layer)
 * @param parent the snapshot below, or null
 * @param kind   active, view or committed
 * @param labels its labels; a layer always carries {@link ProxySnapshotter#SNAPSHOT_REF} = its ChainID
 */
public record SnapshotEntry(String name, String parent, RuntimeSnapshot.Kind kind, Map<String, String> labels,
                            Instant created, Instant updated) {
    public SnapshotEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        labels = Map.copyOf(labels);
    }
}
