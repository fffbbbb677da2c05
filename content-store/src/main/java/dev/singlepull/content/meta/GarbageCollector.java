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
 * candidate, and one created before it was added to a lease first. Before freeing anything, the database is synced, so
 * that the writes which made the resources unreachable (an image record's deletion) cannot be lost to a power
 * failure after the resources are gone. One collection at a time. Thread-safe.
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

    /**
     * What one collection freed.
     *
     * @param removed       the ids freed, by kind ({@link Leases#CONTENT}: digests; {@link Leases#SNAPSHOT}: ChainIDs)
     * @param bytesByKind   bytes freed, by kind
     * @param expiredLeases leases deleted because their expiry had passed
     */
    public record Result(Map<String, List<String>> removed, Map<String, Long> bytesByKind, int expiredLeases) {
        public Result {
            removed = Map.copyOf(removed);
            bytesByKind = Map.copyOf(bytesByKind);
        }

        /** Resources freed, every kind. */
        public int count() {
            return removed.values().stream().mapToInt(List::size).sum();
        }

        /** Resources of {@code kind} freed. */
        public int count(String kind) {
            return removed.getOrDefault(kind, List.of()).size();
        }

        /** Bytes freed, every kind. */
        public long bytesFreed() {
            return bytesByKind.values().stream().mapToLong(Long::longValue).sum();
        }

        /** Bytes of {@code kind} freed. */
        public long bytesFreed(String kind) {
            return bytesByKind.getOrDefault(kind, 0L);
        }
    }

    /** Runs one collection. */
    public synchronized Result collect() {
        int expired = db.leases().deleteExpired();
        Map<ResourceCollector, Set<String>> candidates = new LinkedHashMap<>();
        for (ResourceCollector collector : collectors) {
            candidates.put(collector, new TreeSet<>(collector.all()));
        }
        MetadataDb.Reachable marked = db.reachable();
        db.sync();

        Map<String, List<String>> removed = new LinkedHashMap<>();
        Map<String, Long> bytes = new LinkedHashMap<>();
        List<RuntimeException> failures = new ArrayList<>();
        for (Map.Entry<ResourceCollector, Set<String>> entry : candidates.entrySet()) {
            ResourceCollector collector = entry.getKey();
            List<String> freed = removed.computeIfAbsent(collector.kind(), k -> new ArrayList<>());
            bytes.putIfAbsent(collector.kind(), 0L);
            for (String id : entry.getValue()) {
                if (isMarked(collector.kind(), id, marked)) {
                    continue;
                }
                try {
                    bytes.merge(collector.kind(), collector.remove(id), Long::sum);
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
        Result done = new Result(result, bytes, expired);
        if (!failures.isEmpty()) {
            throw failure(done, failures);
        }
        return done;
    }

    /**
     * Runs {@code work} while no collection runs (and keeps collections waiting until it returns): for checks that
     * must not see a collection half done.
     */
    public synchronized <T> T whileNotCollecting(java.util.function.Supplier<T> work) {
        return work.get();
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
