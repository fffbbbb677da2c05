package dev.singlepull.cri.server;

import dev.singlepull.api.admin.v1.AdminGrpc;
import dev.singlepull.api.cri.v1.ImageServiceGrpc;
import dev.singlepull.api.cri.v1.RuntimeServiceGrpc;
import dev.singlepull.cri.Node;
import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.cluster.ClusterListener;
import dev.singlepull.cri.metrics.ClusterMetrics;
import dev.singlepull.cri.metrics.FlightMetrics;
import dev.singlepull.cri.metrics.MetricsEndpoint;
import dev.singlepull.cri.metrics.RegistryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The running service: a {@link Node} served over the unix socket, with metrics. {@link #start} returns once the
 * socket answers.
 */
public final class Daemon implements AutoCloseable {
    /**
     * Calls that answer from memory at once: served on platform threads, so that kubelet's and crictl's queries stay
     * prompt while pulls keep the virtual-thread carriers busy. (ImageFsInfo reads the database and measures
     * ingests on disk, so it is not one of them.)
     */
    static final Set<String> QUICK_METHODS = Set.of(
            ImageServiceGrpc.getListImagesMethod().getFullMethodName(),
            ImageServiceGrpc.getImageStatusMethod().getFullMethodName(),
            RuntimeServiceGrpc.getVersionMethod().getFullMethodName(),
            AdminGrpc.getListFlightsMethod().getFullMethodName());

    private final Node node;
    private final UnixSocketServer server;
    private final Optional<MetricsEndpoint> metrics;

    private Daemon(Node node, UnixSocketServer server, Optional<MetricsEndpoint> metrics) {
        this.node = node;
        this.server = server;
        this.metrics = metrics;
    }

    public static Daemon start(ShimConfig config, String version) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        ClusterListener cluster = config.cluster().enabled()
                ? new ClusterMetrics(registry, config.cluster().resolvedNodeId()) : ClusterListener.NONE;
        Node node = Node.open(config, new FlightMetrics(registry), new RegistryMetrics(registry), cluster);
        Optional<MetricsEndpoint> metrics = Optional.empty();
        try {
            if (!config.metricsAddress().isBlank()) {
                metrics = Optional.of(MetricsEndpoint.start(config.metricsAddress(), registry));
            }
            UnixSocketServer server = UnixSocketServer.start(config.socket(), List.of(
                    new CriImageGrpcService(node.images(), Clock.systemUTC()),
                    new RuntimeVersionService(version),
                    new AdminGrpcService(node::flights, node.images()::pullProgress, node::collectGarbage,
                            node::fsck)), QUICK_METHODS);
            return new Daemon(node, server, metrics);
        } catch (RuntimeException e) {
            metrics.ifPresent(MetricsEndpoint::close);
            node.close();
            throw e;
        }
    }

    public Node node() {
        return node;
    }

    public Path socket() {
        return server.socket();
    }

    public Optional<Integer> metricsPort() {
        return metrics.map(MetricsEndpoint::port);
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        server.close();
        metrics.ifPresent(MetricsEndpoint::close);
        node.close();
    }
}
