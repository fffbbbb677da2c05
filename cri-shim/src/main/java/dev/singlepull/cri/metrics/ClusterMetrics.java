package dev.singlepull.cri.metrics;

import dev.singlepull.cri.cluster.ClusterListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Binds the cluster tier's events to Micrometer counters tagged {@code node}:
 * {@code singlepull_cluster_blob_bytes_total} by {@code source} ({@code upstream} or {@code peer}),
 * {@code singlepull_cluster_served_bytes_total} (sent to other nodes), {@code singlepull_cluster_leases_total} by
 * {@code event} ({@code taken}, {@code lost}, {@code taken_over}), {@code singlepull_cluster_peer_errors_total},
 * {@code singlepull_cluster_store_operations_total} and {@code singlepull_cluster_store_unavailable_total} (lease
 * store calls that failed or timed out, each a blob fetched as on a single node). Thread-safe.
 */
public final class ClusterMetrics implements ClusterListener {
    private final Counter fromUpstream;
    private final Counter fromPeers;
    private final Counter served;
    private final Counter taken;
    private final Counter lost;
    private final Counter takenOver;
    private final Counter peerErrors;
    private final Counter operations;
    private final Counter unavailable;

    public ClusterMetrics(MeterRegistry registry, String node) {
        String bytes = "singlepull.cluster.blob.bytes";
        String blobBytes = "bytes of blobs this node brought in, by where they came from";
        fromUpstream = Counter.builder(bytes).description(blobBytes).tag("node", node).tag("source", "upstream")
                .register(registry);
        fromPeers = Counter.builder(bytes).description(blobBytes).tag("node", node).tag("source", "peer")
                .register(registry);
        served = Counter.builder("singlepull.cluster.served.bytes").description("bytes of blobs sent to other nodes")
                .tag("node", node).register(registry);
        String leases = "singlepull.cluster.leases";
        String leaseEvents = "blob leases this node took, lost or took over from a failed holder";
        taken = Counter.builder(leases).description(leaseEvents).tag("node", node).tag("event", "taken")
                .register(registry);
        lost = Counter.builder(leases).description(leaseEvents).tag("node", node).tag("event", "lost")
                .register(registry);
        takenOver = Counter.builder(leases).description(leaseEvents).tag("node", node).tag("event", "taken_over")
                .register(registry);
        peerErrors = Counter.builder("singlepull.cluster.peer.errors")
                .description("peers that refused, broke, stalled or sent bytes failing the check").tag("node", node)
                .register(registry);
        operations = Counter.builder("singlepull.cluster.store.operations").description("calls to the lease store")
                .tag("node", node).register(registry);
        unavailable = Counter.builder("singlepull.cluster.store.unavailable")
                .description("lease store calls that failed or timed out; the blob was fetched as on a single node")
                .tag("node", node).register(registry);
    }

    @Override
    public void leaseTaken() {
        taken.increment();
    }

    @Override
    public void leaseLost() {
        lost.increment();
    }

    @Override
    public void leaseTakenOver() {
        takenOver.increment();
    }

    @Override
    public void peerError() {
        peerErrors.increment();
    }

    @Override
    public void bytesFromPeers(long bytes) {
        fromPeers.increment(bytes);
    }

    @Override
    public void bytesFromUpstream(long bytes) {
        fromUpstream.increment(bytes);
    }

    @Override
    public void bytesServed(long bytes) {
        served.increment(bytes);
    }

    @Override
    public void storeOperation() {
        operations.increment();
    }

    @Override
    public void storeUnavailable() {
        unavailable.increment();
    }
}
