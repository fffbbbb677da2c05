package dev.singlepull.cri.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.singlepull.cri.cluster.ClusterSettings;
import dev.singlepull.cri.pull.ParallelParts;
import dev.singlepull.cri.registry.HostConfig;
import dev.singlepull.cri.registry.Platform;
import dev.singlepull.cri.registry.RegistrySettings;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.snapshot.SnapshotSync;
import dev.singlepull.unpack.tar.GzipDecoder;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Everything {@code singlepull serve} can be told, with its embedded defaults. A TOML file may set any of it;
 * command-line flags override the file. Immutable; {@link #toBuilder()} derives a changed copy.
 *
 * <pre>
 * root = "/var/lib/singlepull"
 * socket = "/run/singlepull/singlepull.sock"
 * metrics_address = "127.0.0.1:9464"   # "" disables the metrics endpoint
 * platform = "linux/amd64"
 * insecure_registries = ["registry.internal:5000"]
 * max_concurrent_downloads = 6
 * max_concurrent_downloads_per_host = 6
 * max_concurrent_unpacks = 2
 * abandoned_grace_seconds = -1         # -1: abandoned pulls run to completion
 * min_transfer_rate = 10240            # bytes/s a download must keep ...
 * stall_window_seconds = 120           # ... over this window, or it is aborted (DEADLINE_EXCEEDED)
 * registry_attempts = 4                # tries per request to a registry answering 429/5xx, or never reached
 * registry_backoff_ms = 200            # first retry delay; doubled per retry up to 1 s, +-50% jitter
 * max_retry_after_seconds = 30         # the longest Retry-After waited for
 * registry_outage_seconds = 15         # how long a request retries a registry that answered before and is gone
 * circuit_breaker_failures = 5         # failed attempts in a row, each a slice apart, that open a host's circuit
 * circuit_breaker_slice_ms = 1000      # failures within one slice of the last counted one count with it
 * circuit_breaker_open_seconds = 2     # how long an open circuit holds requests back before one probes
 * max_blob_resumes = 5                 # range resumes of one broken blob download (parts breaking together: 1)
 * allow_foreign_urls = false           # fetch non-distributable layers from their URLs
 * snapshot_sync = "syncfs"             # how unpacked layers are made durable: "syncfs", "fsync" or "none" (UNSAFE)
 * stale_ingest_seconds = 86400         # partial downloads not written for this long are removed
 * max_layer_expansion_ratio = 100      # a layer growing past this many times its compressed size ...
 * expansion_check_above_bytes = 268435456   # ... once this much is unpacked, is refused (0 ratio: no check)
 * unpack_while_downloading = true     # a layer unpacks from its download as the bytes arrive
 * parallel_parts_per_blob = 4         # connections fetching one big blob as ranges (1: one stream per blob) ...
 * parallel_part_bytes = 33554432      # ... in parts of this size, for blobs of at least two parts
 * gzip_decoder = "auto"               # "auto" (ISA-L where usable, else java.util.zip), "isal" or "jdk"
 *
 * [runtime]                           # see RuntimeSettings
 * containerd_address = ""             # containerd's socket; "" (the default): images are not registered there
 * namespace = "k8s.io"
 * snapshotter = "singlepull"
 * snapshotter_socket = "/run/singlepull/snapshotter.sock"   # default: beside socket (see snapshotterSocket()); "": none
 *
 * [registries."docker.io"]
 * mirrors = ["http://127.0.0.1:5000", "https://mirror.example.com"]
 * # server = "https://registry-1.docker.io"
 *
 * [registries."registry.internal:5000"]
 * ca = "/etc/singlepull/certs/internal-ca.pem"
 * skip_verify = false
 * insecure = false
 *
 * [cluster]                           # see ClusterSettings; redis = "" (the default) leaves the tier off
 * redis = "redis://10.0.0.5:6379"
 * peer_token_file = "/etc/singlepull/cluster-token"
 * </pre>
 *
 * @param metricsAddress     {@code host:port} for Prometheus metrics, or empty to disable
 * @param registry           hosts (mirrors, TLS, insecure) and how hard the registry client tries
 * @param grace              how long a pull continues after its last caller left; empty: to completion
 * @param minTransferRate    bytes per second a blob download must average over {@code stallWindow}
 * @param snapshotSync       how a snapshot's files are made durable before its record is written
 * @param staleIngestAge     an ingest not written for this long is removed, at start-up and periodically
 * @param maxExpansionRatio  decompression bomb guard: the most a layer may grow over its compressed size (0: off)
 * @param expansionCheckAbove the ratio is checked once a layer has produced this many uncompressed bytes
 * @param unpackWhileDownloading whether a layer unpacks from its ingest as the download writes it, or only once
 *                           the blob is committed
 * @param parallelParts      how a big blob is fetched as parallel ranges
 * @param gzipDecoder        what inflates gzip layers
 * @param runtime            the runtime tier: containerd registration and the snapshots service
 * @param cluster            the cluster tier: one upstream download per blob for all nodes (off by default)
 */
public record ShimConfig(Path root, Path socket, String metricsAddress, Platform platform, RegistrySettings registry,
                         int maxConcurrentDownloads, int maxConcurrentUnpacks, Optional<Duration> grace,
                         long minTransferRate, Duration stallWindow, SnapshotSync snapshotSync,
                         Duration staleIngestAge, int maxExpansionRatio, long expansionCheckAbove,
                         boolean unpackWhileDownloading, ParallelParts parallelParts, GzipDecoder gzipDecoder,
                         RuntimeSettings runtime, ClusterSettings cluster) {

    public static final Path SYSTEM_CONFIG = Path.of("/etc/singlepull/config.toml");
    private static final Set<String> KEYS = Set.of("root", "socket", "metrics_address", "platform",
            "insecure_registries", "max_concurrent_downloads", "max_concurrent_unpacks", "abandoned_grace_seconds",
            "min_transfer_rate", "stall_window_seconds", "max_concurrent_downloads_per_host", "allow_foreign_urls",
            "registry_attempts", "registry_backoff_ms", "max_retry_after_seconds", "circuit_breaker_failures",
            "registry_outage_seconds", "circuit_breaker_slice_ms", "circuit_breaker_open_seconds", "max_blob_resumes",
            "registries", "snapshot_sync", "stale_ingest_seconds",
            "max_layer_expansion_ratio", "expansion_check_above_bytes", "unpack_while_downloading",
            "parallel_parts_per_blob", "parallel_part_bytes", "gzip_decoder", "runtime", "cluster");
    private static final Set<String> RUNTIME_KEYS = Set.of("containerd_address", "namespace", "snapshotter",
            "snapshotter_socket");
    private static final Set<String> CLUSTER_KEYS = Set.of("redis", "node_id", "peer_listen", "peer_advertise",
            "peer_token_file", "max_peer_uploads", "redis_timeout_ms");
    private static final Set<String> HOST_KEYS = Set.of("mirrors", "server", "insecure", "ca", "skip_verify");

    public ShimConfig {
        if (maxConcurrentDownloads < 1 || maxConcurrentUnpacks < 1) {
            throw SinglepullException.invalidArgument("max_concurrent_downloads and max_concurrent_unpacks must be >= 1");
        }
        if (minTransferRate < 1 || stallWindow.isNegative() || stallWindow.isZero()) {
            throw SinglepullException.invalidArgument("min_transfer_rate and stall_window_seconds must be >= 1");
        }
        java.util.Objects.requireNonNull(snapshotSync, "snapshotSync");
        java.util.Objects.requireNonNull(parallelParts, "parallelParts");
        java.util.Objects.requireNonNull(gzipDecoder, "gzipDecoder");
        java.util.Objects.requireNonNull(runtime, "runtime");
        java.util.Objects.requireNonNull(cluster, "cluster");
        cluster.incomplete().ifPresent(problem -> {
            throw SinglepullException.invalidArgument(problem);
        });
        if (staleIngestAge.compareTo(Duration.ofSeconds(1)) < 0) {
            throw SinglepullException.invalidArgument("stale_ingest_seconds must be >= 1");
        }
        if (maxExpansionRatio < 0 || expansionCheckAbove < 0) {
            throw SinglepullException.invalidArgument(
                    "max_layer_expansion_ratio and expansion_check_above_bytes must be >= 0");
        }
    }

    /** The embedded defaults: system paths when running as root, the XDG directories otherwise. */
    public static ShimConfig defaults() {
        return new ShimConfig(DefaultPaths.root(), DefaultPaths.socket(), "127.0.0.1:9464", Platform.LINUX_AMD64,
                RegistrySettings.DEFAULTS, 6, Math.max(2, Runtime.getRuntime().availableProcessors()),
                Optional.empty(), 10 * 1024, Duration.ofSeconds(120), SnapshotSync.DEFAULT, Duration.ofHours(24),
                100, 256L << 20, true, ParallelParts.DEFAULT, GzipDecoder.AUTO, RuntimeSettings.DEFAULTS,
                ClusterSettings.OFF);
    }

    /** Hosts reached over plain http besides loopback ones. */
    public Set<String> insecureRegistries() {
        return registry.insecure();
    }

    /**
     * Where the snapshots service listens, if it is served: as configured, or beside the CRI socket, named
     * {@code snapshotter.sock} beside {@code singlepull.sock} (so {@code /run/singlepull/snapshotter.sock} by default)
     * and {@code NAME-snapshotter.sock} beside any other {@code NAME.sock}, so that services sharing a directory do not
     * share it.
     */
    public Optional<Path> snapshotterSocket() {
        String configured = runtime.snapshotterSocket();
        if (configured == null) {
            String name = socket.getFileName().toString();
            String sibling = name.equals("singlepull.sock") ? RuntimeSettings.DEFAULT_SOCKET_NAME
                    : name.replaceFirst("\\.sock$", "") + "-" + RuntimeSettings.DEFAULT_SOCKET_NAME;
            return Optional.of(socket.toAbsolutePath().resolveSibling(sibling));
        }
        return configured.isBlank() ? Optional.empty() : Optional.of(Path.of(configured));
    }

    /** The defaults overlaid with {@code file}; INVALID_ARGUMENT naming the file for unknown keys or bad values. */
    public static ShimConfig load(Path file) {
        JsonNode toml;
        try {
            toml = new TomlMapper().readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw SinglepullException.invalidArgument("cannot read config " + file + ": " + e.getMessage());
        }
        try {
            return parse(toml);
        } catch (SinglepullException e) {
            throw SinglepullException.invalidArgument("config " + file + ": " + e.getMessage());
        }
    }

    private static ShimConfig parse(JsonNode toml) {
        toml.properties().forEach(e -> {
            if (!KEYS.contains(e.getKey())) {
                throw SinglepullException.invalidArgument("unknown key '" + e.getKey() + "'");
            }
        });
        ShimConfig base = defaults();
        RegistrySettings r = base.registry;
        Builder b = base.toBuilder();
        if (toml.has("root")) {
            b.root(Path.of(text(toml, "root")));
        }
        if (toml.has("socket")) {
            b.socket(Path.of(text(toml, "socket")));
        }
        if (toml.has("metrics_address")) {
            b.metricsAddress(text(toml, "metrics_address"));
        }
        if (toml.has("platform")) {
            b.platform(Platform.parse(text(toml, "platform")));
        }
        b.addInsecureRegistries(strings(toml, "insecure_registries"));
        b.maxConcurrentDownloads(toml.path("max_concurrent_downloads").asInt(base.maxConcurrentDownloads()));
        b.maxConcurrentUnpacks(toml.path("max_concurrent_unpacks").asInt(base.maxConcurrentUnpacks()));
        long graceSeconds = toml.path("abandoned_grace_seconds").asLong(-1);
        b.grace(graceSeconds < 0 ? Optional.empty() : Optional.of(Duration.ofSeconds(graceSeconds)));
        b.minTransferRate(toml.path("min_transfer_rate").asLong(base.minTransferRate()));
        b.stallWindow(Duration.ofSeconds(toml.path("stall_window_seconds").asLong(base.stallWindow().toSeconds())));
        if (toml.has("snapshot_sync")) {
            b.snapshotSync(SnapshotSync.parse(toml.get("snapshot_sync").asText()));
        }
        b.staleIngestAge(Duration.ofSeconds(
                toml.path("stale_ingest_seconds").asLong(base.staleIngestAge().toSeconds())));
        b.expansionLimit(toml.path("max_layer_expansion_ratio").asInt(base.maxExpansionRatio()),
                toml.path("expansion_check_above_bytes").asLong(base.expansionCheckAbove()));
        b.unpackWhileDownloading(bool(toml, "unpack_while_downloading", base.unpackWhileDownloading()));
        b.parallelParts(parallelParts(toml.path("parallel_parts_per_blob").asInt(base.parallelParts().streams()),
                toml.path("parallel_part_bytes").asLong(base.parallelParts().partBytes())));
        if (toml.has("gzip_decoder")) {
            b.gzipDecoder(gzipDecoder(text(toml, "gzip_decoder")));
        }
        b.registry(s -> s
                .withRetries(toml.path("registry_attempts").asInt(r.attempts()),
                        Duration.ofMillis(toml.path("registry_backoff_ms").asLong(r.backoff().toMillis())),
                        Duration.ofSeconds(toml.path("max_retry_after_seconds").asLong(r.maxRetryAfter().toSeconds())))
                .withOutageWindow(Duration.ofSeconds(toml.path("registry_outage_seconds")
                        .asLong(r.outageWindow().toSeconds())))
                .withCircuitBreaker(toml.path("circuit_breaker_failures").asInt(r.breakerFailures()),
                        Duration.ofMillis(toml.path("circuit_breaker_slice_ms").asLong(r.breakerSlice().toMillis())),
                        Duration.ofSeconds(toml.path("circuit_breaker_open_seconds")
                                .asLong(r.breakerOpen().toSeconds())))
                .withDownloadsPerHost(toml.path("max_concurrent_downloads_per_host").asInt(r.downloadsPerHost()))
                .withAllowForeignUrls(bool(toml, "allow_foreign_urls", r.allowForeignUrls()))
                .withMaxBlobResumes(toml.path("max_blob_resumes").asInt(r.maxBlobResumes())));
        JsonNode registries = toml.path("registries");
        if (!registries.isMissingNode() && !registries.isObject()) {
            throw SinglepullException.invalidArgument("'registries' must be a table of [registries.\"NAME\"] tables");
        }
        registries.properties().forEach(e -> b.host(e.getKey(), hostConfig(e.getKey(), e.getValue())));
        if (toml.has("runtime")) {
            b.runtime(runtimeSettings(toml.get("runtime"), base.runtime()));
        }
        JsonNode cluster = toml.path("cluster");
        if (!cluster.isMissingNode()) {
            b.cluster(c -> cluster(c, cluster));
        }
        return b.build();
    }

    private static ClusterSettings cluster(ClusterSettings c, JsonNode node) {
        if (!node.isObject()) {
            throw SinglepullException.invalidArgument("'cluster' must be a table");
        }
        node.properties().forEach(e -> {
            if (!CLUSTER_KEYS.contains(e.getKey())) {
                throw SinglepullException.invalidArgument("unknown key '" + e.getKey() + "' in [cluster] (known: "
                        + "redis, node_id, peer_listen, peer_advertise, peer_token_file, max_peer_uploads, redis_timeout_ms)");
            }
        });
        ClusterSettings out = c;
        if (node.has("redis")) {
            out = out.withRedis(text(node, "redis"));
        }
        if (node.has("node_id")) {
            out = out.withNodeId(text(node, "node_id"));
        }
        if (node.has("peer_listen")) {
            out = out.withPeerListen(text(node, "peer_listen"));
        }
        if (node.has("peer_advertise")) {
            out = out.withPeerAdvertise(text(node, "peer_advertise"));
        }
        if (node.has("peer_token_file")) {
            String file = text(node, "peer_token_file");
            out = out.withPeerTokenFile(file.isBlank() ? Optional.empty() : Optional.of(Path.of(file)));
        }
        out = out.withStoreTimeout(Duration.ofMillis(node.path("redis_timeout_ms").asLong(c.storeTimeout().toMillis())));
        return out.withMaxPeerUploads(node.path("max_peer_uploads").asInt(c.maxPeerUploads()));
    }

    private static HostConfig hostConfig(String name, JsonNode node) {
        if (!node.isObject()) {
            throw SinglepullException.invalidArgument("registries.\"" + name + "\" must be a table");
        }
        node.properties().forEach(e -> {
            if (!HOST_KEYS.contains(e.getKey())) {
                throw SinglepullException.invalidArgument("unknown key '" + e.getKey() + "' in registries.\"" + name
                        + "\" (known: mirrors, server, insecure, ca, skip_verify)");
            }
        });
        List<URI> mirrors = strings(node, "mirrors").stream().map(HostConfig::parseLocation).toList();
        Optional<URI> server = node.has("server") ? Optional.of(HostConfig.parseLocation(text(node, "server")))
                : Optional.empty();
        Optional<Path> ca = node.has("ca") ? Optional.of(Path.of(text(node, "ca"))) : Optional.empty();
        return new HostConfig(mirrors, server, bool(node, "insecure", false), ca, bool(node, "skip_verify", false));
    }

    private static RuntimeSettings runtimeSettings(JsonNode node, RuntimeSettings base) {
        if (!node.isObject()) {
            throw SinglepullException.invalidArgument("'runtime' must be a table");
        }
        node.properties().forEach(e -> {
            if (!RUNTIME_KEYS.contains(e.getKey())) {
                throw SinglepullException.invalidArgument("unknown key '" + e.getKey() + "' in [runtime] (known: "
                        + "containerd_address, namespace, snapshotter, snapshotter_socket)");
            }
        });
        RuntimeSettings r = base;
        if (node.has("containerd_address")) {
            r = r.withContainerdAddress(text(node, "containerd_address"));
        }
        if (node.has("namespace")) {
            r = r.withNamespace(text(node, "namespace"));
        }
        if (node.has("snapshotter")) {
            r = r.withSnapshotter(text(node, "snapshotter"));
        }
        if (node.has("snapshotter_socket")) {
            r = r.withSnapshotterSocket(text(node, "snapshotter_socket"));
        }
        return r;
    }

    private static String text(JsonNode node, String key) {
        JsonNode value = node.get(key);
        if (!value.isTextual()) {
            throw SinglepullException.invalidArgument("'" + key + "' must be a string");
        }
        return value.asText();
    }

    /** {@code name} as a gzip decoder; INVALID_ARGUMENT naming the choices otherwise. */
    public static GzipDecoder gzipDecoder(String name) {
        try {
            return GzipDecoder.parse(name);
        } catch (IllegalArgumentException e) {
            throw SinglepullException.invalidArgument(e.getMessage());
        }
    }

    private static ParallelParts parallelParts(int streams, long partBytes) {
        try {
            return new ParallelParts(streams, partBytes);
        } catch (IllegalArgumentException e) {
            throw SinglepullException.invalidArgument("parallel_parts_per_blob must be >= 1 and parallel_part_bytes"
                    + " >= 65536; got " + streams + " and " + partBytes);
        }
    }

    private static boolean bool(JsonNode node, String key, boolean otherwise) {
        JsonNode value = node.get(key);
        if (value == null) {
            return otherwise;
        }
        if (!value.isBoolean()) {
            throw SinglepullException.invalidArgument("'" + key + "' must be true or false");
        }
        return value.asBoolean();
    }

    private static List<String> strings(JsonNode node, String key) {
        JsonNode value = node.get(key);
        if (value == null) {
            return List.of();
        }
        if (!value.isArray()) {
            throw SinglepullException.invalidArgument("'" + key + "' must be an array of strings");
        }
        java.util.ArrayList<String> list = new java.util.ArrayList<>();
        value.forEach(v -> list.add(v.asText()));
        return list;
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A changed copy of a {@link ShimConfig}; {@link #build()} validates. */
    public static final class Builder {
        private Path root;
        private Path socket;
        private String metricsAddress;
        private Platform platform;
        private RegistrySettings registry;
        private final Set<String> insecureRegistries;
        private final Map<String, HostConfig> hosts;
        private int maxConcurrentDownloads;
        private int maxConcurrentUnpacks;
        private Optional<Duration> grace;
        private long minTransferRate;
        private Duration stallWindow;
        private SnapshotSync snapshotSync;
        private Duration staleIngestAge;
        private int maxExpansionRatio;
        private long expansionCheckAbove;
        private boolean unpackWhileDownloading;
        private ParallelParts parallelParts;
        private GzipDecoder gzipDecoder;
        private RuntimeSettings runtime;
        private ClusterSettings cluster;

        private Builder(ShimConfig c) {
            root = c.root;
            socket = c.socket;
            metricsAddress = c.metricsAddress;
            platform = c.platform;
            registry = c.registry;
            insecureRegistries = new LinkedHashSet<>(c.registry.insecure());
            hosts = new LinkedHashMap<>(c.registry.hosts());
            maxConcurrentDownloads = c.maxConcurrentDownloads;
            maxConcurrentUnpacks = c.maxConcurrentUnpacks;
            grace = c.grace;
            minTransferRate = c.minTransferRate;
            stallWindow = c.stallWindow;
            snapshotSync = c.snapshotSync;
            staleIngestAge = c.staleIngestAge;
            maxExpansionRatio = c.maxExpansionRatio;
            expansionCheckAbove = c.expansionCheckAbove;
            unpackWhileDownloading = c.unpackWhileDownloading;
            parallelParts = c.parallelParts;
            gzipDecoder = c.gzipDecoder;
            runtime = c.runtime;
            cluster = c.cluster;
        }

        public Builder root(Path value) {
            root = value;
            return this;
        }

        public Builder socket(Path value) {
            socket = value;
            return this;
        }

        public Builder metricsAddress(String value) {
            metricsAddress = value;
            return this;
        }

        public Builder platform(Platform value) {
            platform = value;
            return this;
        }

        public Builder addInsecureRegistries(List<String> hostNames) {
            insecureRegistries.addAll(hostNames);
            return this;
        }

        /** Sets (replaces) the settings of one registry or mirror host. */
        public Builder host(String name, HostConfig config) {
            hosts.put(name, config);
            return this;
        }

        /** Puts {@code mirrors} first in the mirrors of {@code registryName} (for {@code --mirror}). */
        public Builder addMirrors(String registryName, List<URI> mirrors) {
            hosts.put(registryName, hosts.getOrDefault(registryName, HostConfig.DEFAULT).withMirrorsFirst(mirrors));
            return this;
        }

        /** Changes the registry client's settings other than hosts (retries, breaker, slots, foreign URLs). */
        public Builder registry(UnaryOperator<RegistrySettings> change) {
            registry = change.apply(registry);
            return this;
        }

        public Builder maxConcurrentDownloads(int value) {
            maxConcurrentDownloads = value;
            return this;
        }

        public Builder maxConcurrentUnpacks(int value) {
            maxConcurrentUnpacks = value;
            return this;
        }

        public Builder grace(Optional<Duration> value) {
            grace = value;
            return this;
        }

        public Builder minTransferRate(long bytesPerSecond) {
            minTransferRate = bytesPerSecond;
            return this;
        }

        public Builder stallWindow(Duration value) {
            stallWindow = value;
            return this;
        }

        public Builder snapshotSync(SnapshotSync value) {
            snapshotSync = value;
            return this;
        }

        public Builder staleIngestAge(Duration value) {
            staleIngestAge = value;
            return this;
        }

        /** The decompression bomb guard: {@code ratio} (0 disables it), checked above {@code checkAboveBytes}. */
        public Builder expansionLimit(int ratio, long checkAboveBytes) {
            maxExpansionRatio = ratio;
            expansionCheckAbove = checkAboveBytes;
            return this;
        }

        public Builder unpackWhileDownloading(boolean value) {
            unpackWhileDownloading = value;
            return this;
        }

        public Builder parallelParts(ParallelParts value) {
            parallelParts = value;
            return this;
        }

        public Builder gzipDecoder(GzipDecoder value) {
            gzipDecoder = value;
            return this;
        }

        /** Changes the runtime tier's settings. */
        public Builder runtime(RuntimeSettings value) {
            runtime = value;
            return this;
        }

        /** Changes the runtime tier's settings. */
        public Builder runtime(UnaryOperator<RuntimeSettings> change) {
            runtime = change.apply(runtime);
            return this;
        }

        /** Changes the cluster tier's settings; INVALID_ARGUMENT for a bad value. */
        public Builder cluster(UnaryOperator<ClusterSettings> change) {
            try {
                cluster = change.apply(cluster);
            } catch (IllegalArgumentException e) {
                throw SinglepullException.invalidArgument(e.getMessage());
            }
            return this;
        }

        public ShimConfig build() {
            return new ShimConfig(root, socket, metricsAddress, platform, registry.withHosts(hosts, insecureRegistries),
                    maxConcurrentDownloads, maxConcurrentUnpacks, grace, minTransferRate, stallWindow, snapshotSync,
                    staleIngestAge, maxExpansionRatio, expansionCheckAbove, unpackWhileDownloading, parallelParts,
                    gzipDecoder, runtime, cluster);
        }
    }
}
