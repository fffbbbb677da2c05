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
 * The running service: a {@link Node} served over the unix socket, with metrics, and containerd's snapshots service
 * on a second socket when configured. {@link #start} returns once the sockets answer.
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
    private final Optional<UnixSocketServer> snapshotsServer;
    private final Optional<SnapshotsGrpcService> snapshots;

    private Daemon(Node node, UnixSocketServer server, Optional<MetricsEndpoint> metrics,
                   Optional<UnixSocketServer> snapshotsServer, Optional<SnapshotsGrpcService> snapshots) {
        this.node = node;
        this.server = server;
        this.metrics = metrics;
        this.snapshotsServer = snapshotsServer;
        this.snapshots = snapshots;
    }

    public static Daemon start(ShimConfig config, String version) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        ClusterListener cluster = config.cluster().enabled()
                ? new ClusterMetrics(registry, config.cluster().resolvedNodeId()) : ClusterListener.NONE;
        Node node = Node.open(config, new FlightMetrics(registry), new RegistryMetrics(registry), cluster);
        Optional<MetricsEndpoint> metrics = Optional.empty();
        Optional<UnixSocketServer> snapshotsServer = Optional.empty();
        try {
            if (!config.metricsAddress().isBlank()) {
                metrics = Optional.of(MetricsEndpoint.start(config.metricsAddress(), registry));
            }
            Optional<SnapshotsGrpcService> snapshots = config.snapshotterSocket()
                    .map(path -> new SnapshotsGrpcService(node.runtimeSnapshots()));
            if (snapshots.isPresent()) {
                snapshotsServer = Optional.of(UnixSocketServer.start(config.snapshotterSocket().orElseThrow(),
                        List.of(snapshots.get()), Set.of()));
            }
            UnixSocketServer server = UnixSocketServer.start(config.socket(), List.of(
                    new CriImageGrpcService(node.images(), Clock.systemUTC()),
                    new RuntimeVersionService(version),
                    new AdminGrpcService(node::flights, node.images()::pullProgress, node::collectGarbage,
                            node::fsck)), QUICK_METHODS);
            // containerd may have lost what it was given (reinstalled, root wiped): give it again what it lacks
            node.registration().ifPresent(r -> Thread.ofVirtual().name("containerd-reregistration").start(() -> {
                int images = r.registerAll();
                System.getLogger(Daemon.class.getName()).log(System.Logger.Level.INFO,
                        "containerd: {0} image(s) checked at start-up", images);
            }));
            return new Daemon(node, server, metrics, snapshotsServer, snapshots);
        } catch (RuntimeException e) {
            snapshotsServer.ifPresent(UnixSocketServer::close);
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

    /** The socket of containerd's snapshots service, if it is served. */
    public Optional<Path> snapshotterSocket() {
        return snapshotsServer.map(UnixSocketServer::socket);
    }

    /** How many calls of each snapshots method a runtime made so far (empty when the service is not served). */
    public java.util.Map<String, Long> snapshotterCalls() {
        return snapshots.map(SnapshotsGrpcService::calls).orElse(java.util.Map.of());
    }

    public Optional<Integer> metricsPort() {
        return metrics.map(MetricsEndpoint::port);
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        snapshotsServer.ifPresent(UnixSocketServer::close);
        server.close();
        metrics.ifPresent(MetricsEndpoint::close);
        node.close();
    }
}
