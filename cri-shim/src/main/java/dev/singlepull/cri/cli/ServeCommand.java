package dev.singlepull.cri.cli;

import dev.singlepull.cri.cluster.ClusterSettings;
import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.registry.HostConfig;
import dev.singlepull.cri.registry.Platform;
import dev.singlepull.cri.server.Daemon;
import dev.singlepull.unpack.snapshot.SnapshotSync;
import dev.singlepull.errdefs.SinglepullException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the CRI image service until SIGTERM or SIGINT. */
@Command(name = "serve", description = "Serve the CRI ImageService on a unix socket.")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE",
            description = "TOML config (default: /etc/singlepull/config.toml if it exists)")
    Path config;

    @Option(names = "--root", paramLabel = "DIR", description = "state directory (default: ${DEFAULT-VALUE})")
    Path root;

    @Option(names = "--socket", paramLabel = "PATH", description = "unix socket to serve on")
    Path socket;

    @Option(names = "--metrics-address", paramLabel = "HOST:PORT",
            description = "Prometheus metrics address (default 127.0.0.1:9464; \"\" disables)")
    String metricsAddress;

    @Option(names = "--insecure-registry", paramLabel = "HOST[:PORT]",
            description = "reach this registry over plain http (repeatable; loopback registries always are)")
    List<String> insecureRegistries = new ArrayList<>();

    @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]", description = "platform to pull (default linux/amd64)")
    String platform;

    @Option(names = "--min-transfer-rate", paramLabel = "BYTES_PER_SECOND",
            description = "a download slower than this over the stall window is aborted (default 10240)")
    Long minTransferRate;

    @Option(names = "--stall-window", paramLabel = "SECONDS", description = "the stall window (default 120)")
    Long stallWindowSeconds;

    @Option(names = "--snapshot-sync", paramLabel = "MODE",
            description = "how unpacked layers are made durable: syncfs (default), fsync, or none (UNSAFE: a power "
                    + "failure can leave committed snapshots with missing data; for benchmarks only)")
    String snapshotSync;

    @Option(names = "--gzip-decoder", paramLabel = "NAME",
            description = "what inflates gzip layers: auto (default: ISA-L where usable, else java.util.zip), isal, jdk")
    String gzipDecoder;

    @Option(names = "--stale-ingest-seconds", paramLabel = "SECONDS",
            description = "remove partial downloads not written for this long (default 86400)")
    Long staleIngestSeconds;

    @Option(names = "--mirror", paramLabel = "REGISTRY=URL",
            description = "try this mirror first for pulls from REGISTRY, then its other mirrors, then REGISTRY itself "
                    + "(repeatable; e.g. docker.io=http://127.0.0.1:5000)")
    List<String> mirrors = new ArrayList<>();

    @Option(names = "--max-concurrent-downloads-per-host", paramLabel = "N",
            description = "blob downloads at once from one registry, its mirrors included (default 6)")
    Integer maxDownloadsPerHost;

    @Option(names = "--allow-foreign-urls", description = "fetch non-distributable (foreign) layers from their URLs")
    boolean allowForeignUrls;

    @Option(names = "--containerd-address", paramLabel = "PATH",
            description = "containerd's socket: pulled images are registered there (default \"\": not registered)")
    String containerdAddress;

    @Option(names = "--snapshotter-socket", paramLabel = "PATH",
            description = "serve containerd's snapshots service here (default: beside the socket, "
                    + "/run/singlepull/snapshotter.sock as root; \"\" disables it)")
    String snapshotterSocket;

    @Option(names = "--snapshotter-name", paramLabel = "NAME",
            description = "the proxy snapshotter's name in containerd's config (default singlepull)")
    String snapshotterName;

    @Option(names = "--cluster-redis", paramLabel = "URI",
            description = "the cluster tier's lease store, e.g. redis://10.0.0.5:6379 (default: off)")
    String clusterRedis;

    @Option(names = "--node-id", paramLabel = "ID", description = "this node's name in the cluster (default: host name)")
    String nodeId;

    @Option(names = "--peer-listen", paramLabel = "HOST:PORT",
            description = "where this node serves blobs to the other nodes (default 0.0.0.0:5050)")
    String peerListen;

    @Option(names = "--peer-advertise", paramLabel = "HOST:PORT",
            description = "where the other nodes reach this one (default: derived from --peer-listen)")
    String peerAdvertise;

    @Option(names = "--peer-token-file", paramLabel = "FILE",
            description = "the cluster's shared secret; required with --cluster-redis")
    Path peerTokenFile;

    @Override
    public Integer call() throws InterruptedException {
        ShimConfig cfg = config();
        Daemon daemon = Daemon.start(cfg, Main.VERSION);
        Runtime.getRuntime().addShutdownHook(new Thread(daemon::close, "singlepull-shutdown"));
        System.err.println("singlepull " + Main.VERSION + " serving on " + daemon.socket() + " (root "
                + cfg.root().toAbsolutePath() + ", gzip " + cfg.gzipDecoder().resolved().configName()
                + (daemon.metricsPort().map(p -> ", metrics on port " + p).orElse(""))
                + (daemon.snapshotterSocket().map(p -> ", snapshots service on " + p).orElse(""))
                + ")");
        daemon.awaitTermination();
        return 0;
    }

    /** {@code file}'s settings, or the system config's if it exists, or the embedded defaults. */
    static ShimConfig baseConfig(Path file) {
        return file != null ? ShimConfig.load(file)
                : Files.exists(ShimConfig.SYSTEM_CONFIG) ? ShimConfig.load(ShimConfig.SYSTEM_CONFIG) : ShimConfig.defaults();
    }

    /** The config file (or the defaults) with the flags applied; INVALID_ARGUMENT for a bad value. */
    ShimConfig config() {
        ShimConfig cfg = baseConfig(config);
        ShimConfig.Builder b = cfg.toBuilder();
        if (root != null) {
            b.root(root);
        }
        if (socket != null) {
            b.socket(socket);
        }
        if (metricsAddress != null) {
            b.metricsAddress(metricsAddress);
        }
        if (platform != null) {
            b.platform(Platform.parse(platform));
        }
        if (minTransferRate != null) {
            b.minTransferRate(minTransferRate);
        }
        if (stallWindowSeconds != null) {
            b.stallWindow(java.time.Duration.ofSeconds(stallWindowSeconds));
        }
        if (snapshotSync != null) {
            b.snapshotSync(SnapshotSync.parse(snapshotSync));
        }
        if (gzipDecoder != null) {
            b.gzipDecoder(ShimConfig.gzipDecoder(gzipDecoder));
        }
        if (staleIngestSeconds != null) {
            b.staleIngestAge(java.time.Duration.ofSeconds(staleIngestSeconds));
        }
        Map<String, List<URI>> byRegistry = new LinkedHashMap<>();
        for (String mirror : mirrors) {
            int eq = mirror.indexOf('=');
            if (eq <= 0 || eq == mirror.length() - 1) {
                throw SinglepullException.invalidArgument("--mirror '" + mirror + "' is not REGISTRY=URL");
            }
            String registry = mirror.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            byRegistry.computeIfAbsent(registry.equals("index.docker.io") ? "docker.io" : registry,
                    r -> new ArrayList<>()).add(HostConfig.parseLocation(mirror.substring(eq + 1)));
        }
        byRegistry.forEach(b::addMirrors);
        b.cluster(c -> {
            ClusterSettings out = clusterRedis != null ? c.withRedis(clusterRedis) : c;
            out = nodeId != null ? out.withNodeId(nodeId) : out;
            out = peerListen != null ? out.withPeerListen(peerListen) : out;
            out = peerAdvertise != null ? out.withPeerAdvertise(peerAdvertise) : out;
            return peerTokenFile != null ? out.withPeerTokenFile(java.util.Optional.of(peerTokenFile)) : out;
        });
        if (maxDownloadsPerHost != null) {
            b.registry(r -> r.withDownloadsPerHost(maxDownloadsPerHost));
        }
        if (allowForeignUrls) {
            b.registry(r -> r.withAllowForeignUrls(true));
        }
        if (containerdAddress != null) {
            b.runtime(r -> r.withContainerdAddress(containerdAddress));
        }
        if (snapshotterSocket != null) {
            b.runtime(r -> r.withSnapshotterSocket(snapshotterSocket));
        }
        if (snapshotterName != null) {
            b.runtime(r -> r.withSnapshotter(snapshotterName));
        }
        return b.addInsecureRegistries(insecureRegistries).build();
    }
}
