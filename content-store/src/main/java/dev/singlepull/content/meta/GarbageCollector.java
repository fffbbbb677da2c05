package dev.singlepull.content.meta;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Mark and sweep over the metadata database. One collection: list the candidates of every registered kind, then
 * mark what is reachable (see {@link MetadataDb#reachable()}), then free the candidates that are not marked. Listing
 * before marking makes it safe against pulls running meanwhile: a resource created after the listing is not a
 * candidate, and one created before it was added to a lease first. One collection at a time. Thread-safe.
 *
 * <p>Errors: the constructor throws INVALID_ARGUMENT for a collector of an unknown kind. {@link #collect()} goes on
 * past a resource it cannot free and then throws the first failure's kind, naming what was freed and what was not;
 * a content candidate that is not a digest is never freed.
 */
public final class GarbageCollector {
    private static final System.Logger LOG = System.getLogger(GarbageCollector.class.getName());

    private final MetadataDb db;
    private final List<ResourceCollector> collectors;

    public GarbageCollector(MetadataDb db, List<ResourceCollector> collectors) {
        this.db = db;
        this.collectors = List.copyOf(collectors);
        for (ResourceCollector collector : this.collectors) {
            if (!Leases.CONTENT.equals(collector.kind()) && !Leases.SNAPSHOT.equals(collector.kind())) {
                throw SinglepullException.invalidArgument("garbage collector for unknown resource kind '"
                        + collector.kind() + "'");
            }
        }
    }

    /** What one collection freed. */
    public record Result(Map<String, List<String>> removed, long bytesFreed) {
        public int count() {
            return removed.values().stream().mapToInt(List::size).sum();
        }
    }

    /** Runs one collection. */
    public synchronized Result collect() {
        db.leases().deleteExpired();
        Map<ResourceCollector, Set<String>> candidates = new LinkedHashMap<>();
        for (ResourceCollector collector : collectors) {
            candidates.put(collector, new TreeSet<>(collector.all()));
        }
        MetadataDb.Reachable marked = db.reachable();

        Map<String, List<String>> removed = new LinkedHashMap<>();
        List<RuntimeException> failures = new ArrayList<>();
        long bytes = 0;
        for (Map.Entry<ResourceCollector, Set<String>> entry : candidates.entrySet()) {
            ResourceCollector collector = entry.getKey();
            List<String> freed = removed.computeIfAbsent(collector.kind(), k -> new ArrayList<>());
            for (String id : entry.getValue()) {
                if (isMarked(collector.kind(), id, marked)) {
                    continue;
                }
                try {
                    bytes += collector.remove(id);
                    freed.add(id);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "garbage collection could not free " + collector.kind() + " "
                            + id, e);
                    failures.add(e);
                }
            }
        }
        Map<String, List<String>> result = new LinkedHashMap<>();
        removed.forEach((kind, ids) -> result.put(kind, List.copyOf(ids)));
        Result done = new Result(Map.copyOf(result), bytes);
        if (!failures.isEmpty()) {
            throw failure(done, failures);
        }
        return done;
    }

    private static boolean isMarked(String kind, String id, MetadataDb.Reachable marked) {
        if (Leases.CONTENT.equals(kind)) {
            // a candidate we cannot read as a digest is not ours to judge: keep it
            return !Digest.isDigest(id) || marked.content().contains(Digest.parse(id));
        }
        return marked.snapshots().contains(id);
    }

    private static SinglepullException failure(Result done, List<RuntimeException> failures) {
        RuntimeException first = failures.getFirst();
        SinglepullException e = new SinglepullException(SinglepullException.kindOf(first), "garbage collection freed "
                + done.count() + " resources (" + done.bytesFreed() + " bytes) but could not free " + failures.size()
                + ": " + first.getMessage(), first);
        failures.stream().skip(1).forEach(e::addSuppressed);
        return e;
    }
}
