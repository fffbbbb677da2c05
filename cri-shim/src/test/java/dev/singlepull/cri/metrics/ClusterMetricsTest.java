package dev.singlepull.cri.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

/** The cluster tier's counters as Prometheus shows them. */
class ClusterMetricsTest {
    @Test
    void countsBytesBySourceLeasesPeerErrorsAndStoreFailuresByNode() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ClusterMetrics metrics = new ClusterMetrics(registry, "node-a");
        metrics.bytesFromUpstream(1000);
        metrics.bytesFromPeers(3000);
        metrics.bytesServed(500);
        metrics.leaseTaken();
        metrics.leaseTaken();
        metrics.leaseLost();
        metrics.leaseTakenOver();
        metrics.peerError();
        metrics.storeOperation();
        metrics.storeUnavailable();

        String text = registry.scrape();
        for (String line : new String[] {
            "singlepull_cluster_blob_bytes_total{node=\"node-a\",source=\"upstream\"} 1000.0",
            "singlepull_cluster_blob_bytes_total{node=\"node-a\",source=\"peer\"} 3000.0",
            "singlepull_cluster_served_bytes_total{node=\"node-a\"} 500.0",
            "singlepull_cluster_leases_total{event=\"taken\",node=\"node-a\"} 2.0",
            "singlepull_cluster_leases_total{event=\"lost\",node=\"node-a\"} 1.0",
            "singlepull_cluster_leases_total{event=\"taken_over\",node=\"node-a\"} 1.0",
            "singlepull_cluster_peer_errors_total{node=\"node-a\"} 1.0",
            "singlepull_cluster_store_operations_total{node=\"node-a\"} 1.0",
            "singlepull_cluster_store_unavailable_total{node=\"node-a\"} 1.0"}) {
            assertTrue(text.contains(line), line + " in\n" + text);
        }
    }
}
