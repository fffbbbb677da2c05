package dev.singlepull.cri.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.singlepull.cri.registry.Platform;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

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
 * max_concurrent_unpacks = 2
 * abandoned_grace_seconds = -1         # -1: abandoned pulls run to completion
 * min_transfer_rate = 10240            # bytes/s a download must keep ...
 * stall_window_seconds = 120           # ... over this window, or it is aborted (DEADLINE_EXCEEDED)
 * max_layer_expansion_ratio = 100      # a layer growing past this many times its compressed size ...
 * expansion_check_above_bytes = 268435456   # ... once this much is unpacked, is refused (0 ratio: no check)
 * </pre>
 *
 * @param metricsAddress     {@code host:port} for Prometheus metrics, or empty to disable
 * @param grace              how long a pull continues after its last caller left; empty: to completion
 * @param minTransferRate    bytes per second a blob download must average over {@code stallWindow}
 * @param maxExpansionRatio  decompression bomb guard: the most a layer may grow over its compressed size (0: off)
 * @param expansionCheckAbove the ratio is checked once a layer has produced this many uncompressed bytes
 */
public record ShimConfig(Path root, Path socket, String metricsAddress, Platform platform,
                         Set<String> insecureRegistries, int maxConcurrentDownloads, int maxConcurrentUnpacks,
                         Optional<Duration> grace, long minTransferRate, Duration stallWindow,
                         int maxExpansionRatio, long expansionCheckAbove) {

    public static final Path SYSTEM_CONFIG = Path.of("/etc/singlepull/config.toml");
    private static final Set<String> KEYS = Set.of("root", "socket", "metrics_address", "platform",
            "insecure_registries", "max_concurrent_downloads", "max_concurrent_unpacks", "abandoned_grace_seconds",
            "min_transfer_rate", "stall_window_seconds", "max_layer_expansion_ratio", "expansion_check_above_bytes");

    public ShimConfig {
        insecureRegistries = Set.copyOf(insecureRegistries);
        if (maxConcurrentDownloads < 1 || maxConcurrentUnpacks < 1) {
            throw SinglepullException.invalidArgument("max_concurrent_downloads and max_concurrent_unpacks must be >= 1");
        }
        if (minTransferRate < 1 || stallWindow.isNegative() || stallWindow.isZero()) {
            throw SinglepullException.invalidArgument("min_transfer_rate and stall_window_seconds must be >= 1");
        }
        if (maxExpansionRatio < 0 || expansionCheckAbove < 0) {
            throw SinglepullException.invalidArgument(
                    "max_layer_expansion_ratio and expansion_check_above_bytes must be >= 0");
        }
    }

    /** The embedded defaults: system paths when running as root, the XDG directories otherwise. */
    public static ShimConfig defaults() {
        return new ShimConfig(DefaultPaths.root(), DefaultPaths.socket(), "127.0.0.1:9464", Platform.LINUX_AMD64,
                Set.of(), 6, Math.max(2, Runtime.getRuntime().availableProcessors()), Optional.empty(),
                10 * 1024, Duration.ofSeconds(120), 100, 256L << 20);
    }

    /** The defaults overlaid with {@code file}; INVALID_ARGUMENT naming the file for unknown keys or bad values. */
    public static ShimConfig load(Path file) {
        JsonNode toml;
        try {
            toml = new TomlMapper().readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw SinglepullException.invalidArgument("cannot read config " + file + ": " + e.getMessage());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = toml.properties().iterator(); it.hasNext(); ) {
            String key = it.next().getKey();
            if (!KEYS.contains(key)) {
                throw SinglepullException.invalidArgument("config " + file + ": unknown key '" + key + "'");
            }
        }
        ShimConfig base = defaults();
        Builder b = base.toBuilder();
        if (toml.has("root")) {
            b.root(Path.of(toml.get("root").asText()));
        }
        if (toml.has("socket")) {
            b.socket(Path.of(toml.get("socket").asText()));
        }
        if (toml.has("metrics_address")) {
            b.metricsAddress(toml.get("metrics_address").asText());
        }
        if (toml.has("platform")) {
            b.platform(Platform.parse(toml.get("platform").asText()));
        }
        List<String> insecure = new ArrayList<>();
        toml.path("insecure_registries").forEach(n -> insecure.add(n.asText()));
        b.addInsecureRegistries(insecure);
        b.maxConcurrentDownloads(toml.path("max_concurrent_downloads").asInt(base.maxConcurrentDownloads()));
        b.maxConcurrentUnpacks(toml.path("max_concurrent_unpacks").asInt(base.maxConcurrentUnpacks()));
        long graceSeconds = toml.path("abandoned_grace_seconds").asLong(-1);
        b.grace(graceSeconds < 0 ? Optional.empty() : Optional.of(Duration.ofSeconds(graceSeconds)));
        b.minTransferRate(toml.path("min_transfer_rate").asLong(base.minTransferRate()));
        b.stallWindow(Duration.ofSeconds(toml.path("stall_window_seconds").asLong(base.stallWindow().toSeconds())));
        b.expansionLimit(toml.path("max_layer_expansion_ratio").asInt(base.maxExpansionRatio()),
                toml.path("expansion_check_above_bytes").asLong(base.expansionCheckAbove()));
        return b.build();
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
        private final Set<String> insecureRegistries;
        private int maxConcurrentDownloads;
        private int maxConcurrentUnpacks;
        private Optional<Duration> grace;
        private long minTransferRate;
        private Duration stallWindow;
        private int maxExpansionRatio;
        private long expansionCheckAbove;

        private Builder(ShimConfig c) {
            root = c.root;
            socket = c.socket;
            metricsAddress = c.metricsAddress;
            platform = c.platform;
            insecureRegistries = new LinkedHashSet<>(c.insecureRegistries);
            maxConcurrentDownloads = c.maxConcurrentDownloads;
            maxConcurrentUnpacks = c.maxConcurrentUnpacks;
            grace = c.grace;
            minTransferRate = c.minTransferRate;
            stallWindow = c.stallWindow;
            maxExpansionRatio = c.maxExpansionRatio;
            expansionCheckAbove = c.expansionCheckAbove;
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

        public Builder addInsecureRegistries(List<String> hosts) {
            insecureRegistries.addAll(hosts);
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

        /** The decompression bomb guard: {@code ratio} (0 disables it), checked above {@code checkAboveBytes}. */
        public Builder expansionLimit(int ratio, long checkAboveBytes) {
            maxExpansionRatio = ratio;
            expansionCheckAbove = checkAboveBytes;
            return this;
        }

        public ShimConfig build() {
            return new ShimConfig(root, socket, metricsAddress, platform, insecureRegistries, maxConcurrentDownloads,
                    maxConcurrentUnpacks, grace, minTransferRate, stallWindow, maxExpansionRatio,
                    expansionCheckAbove);
        }
    }
}
