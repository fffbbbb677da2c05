package dev.singlepull.cri.maintenance;

import dev.singlepull.content.meta.GarbageCollector;

/**
 * What {@code singlepull gc} freed: the mark-and-sweep's result, and the ingests removed for being stale.
 *
 * @param collected    blobs and snapshots freed (per kind, with bytes) and expired leases deleted
 * @param staleIngests partial downloads not written for {@code stale_ingest_seconds}, removed
 */
public record GcReport(GarbageCollector.Result collected, int staleIngests) { }
