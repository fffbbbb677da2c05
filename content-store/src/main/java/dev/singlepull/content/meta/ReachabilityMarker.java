package dev.singlepull.content.meta;

import dev.singlepull.content.Digest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The mark phase of garbage collection, as a pure computation over rows already read from the database: starts from
 * the roots and follows reference labels and snapshot parents until nothing new is reached. Label names follow
 * containerd: {@code containerd.io/gc.ref.content} and {@code containerd.io/gc.ref.snapshot}, alone or followed by
 * {@code .} and any suffix. A label value that is not a digest is ignored. Not thread-safe; use one per collection.
 */
final class ReachabilityMarker {
    static final String CONTENT_REF = "containerd.io/gc.ref.content";
    static final String SNAPSHOT_REF = "containerd.io/gc.ref.snapshot";

    private final Map<Digest, List<Map.Entry<String, String>>> refLabels = new HashMap<>();
    private final Map<String, String> parents = new HashMap<>();
    private final Set<Digest> content = new HashSet<>();
    private final Set<String> snapshots = new HashSet<>();
    private final Deque<Digest> contentToVisit = new ArrayDeque<>();
    private final List<String> snapshotRoots = new ArrayList<>();

    /** True if {@code key} is a reference label this marker follows. */
    static boolean isRefLabel(String key) {
        return isRef(key, CONTENT_REF) || isRef(key, SNAPSHOT_REF);
    }

    private static boolean isRef(String key, String prefix) {
        return key.equals(prefix) || key.startsWith(prefix) && key.charAt(prefix.length()) == '.';
    }

    /** A reference label of {@code digest} (labels that are not references are ignored). */
    void label(Digest digest, String key, String value) {
        if (isRefLabel(key)) {
            refLabels.computeIfAbsent(digest, d -> new ArrayList<>()).add(Map.entry(key, value));
        }
    }

    /** A snapshot record and its parent (null for a bottom layer). */
    void snapshot(String key, String parent) {
        if (parent != null) {
            parents.put(key, parent);
        }
    }

    /** A content root: an image's manifest or config, or a blob in a live lease. */
    void contentRoot(Digest digest) {
        if (content.add(digest)) {
            contentToVisit.add(digest);
        }
    }

    /** A snapshot root: a snapshot in a live lease. */
    void snapshotRoot(String key) {
        snapshotRoots.add(key);
    }

    /**
     * Follows every reference from the roots and returns the marked sets. Call after every row and root was given
     * (order among those calls does not matter).
     */
    MetadataDb.Reachable mark() {
        snapshotRoots.forEach(this::markSnapshotChain);
        while (!contentToVisit.isEmpty()) {
            Digest next = contentToVisit.poll();
            for (Map.Entry<String, String> ref : refLabels.getOrDefault(next, List.of())) {
                if (isRef(ref.getKey(), CONTENT_REF)) {
                    if (Digest.isDigest(ref.getValue())) {
                        contentRoot(Digest.parse(ref.getValue()));
                    }
                } else {
                    markSnapshotChain(ref.getValue());
                }
            }
        }
        return new MetadataDb.Reachable(Set.copyOf(content), Set.copyOf(snapshots));
    }

    private void markSnapshotChain(String key) {
        for (String k = key; k != null && !k.isEmpty() && snapshots.add(k); k = parents.get(k)) {
            // each step marks one ancestor; stops at the bottom layer or at a snapshot already marked
        }
    }
}
