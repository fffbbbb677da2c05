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
 * command-line flags override the file. Immutable.
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
 * </pre>
 *
 * @param metricsAddress {@code host:port} for Prometheus metrics, or empty to disable
 * @param grace          how long a pull continues after its last caller left; empty: to completion
 */
public record ShimConfig(Path root, Path socket, String metricsAddress, Platform platform,
                         Set<String> insecureRegistries, int maxConcurrentDownloads, int maxConcurrentUnpacks,
                         Optional<Duration> grace) {

    public static final Path SYSTEM_CONFIG = Path.of("/etc/singlepull/config.toml");
    private static final Set<String> KEYS = Set.of("root", "socket", "metrics_address", "platform",
            "insecure_registries", "max_concurrent_downloads", "max_concurrent_unpacks", "abandoned_grace_seconds");

    public ShimConfig {
        insecureRegistries = Set.copyOf(insecureRegistries);
        if (maxConcurrentDownloads < 1 || maxConcurrentUnpacks < 1) {
            throw SinglepullException.invalidArgument("max_concurrent_downloads and max_concurrent_unpacks must be >= 1");
        }
    }

    /** The embedded defaults: system paths when running as root, the XDG directories otherwise. */
    public static ShimConfig defaults() {
        return new ShimConfig(DefaultPaths.root(), DefaultPaths.socket(), "127.0.0.1:9464", Platform.LINUX_AMD64,
                Set.of(), 6, Math.max(2, Runtime.getRuntime().availableProcessors()), Optional.empty());
    }

    /** The defaults overlaid with {@code file}; INVALID_ARGUMENT naming the file for unknown keys or bad values. */
    public static ShimConfig load(Path file) {
        ShimConfig base = defaults();
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
        Set<String> insecure = new LinkedHashSet<>(base.insecureRegistries());
        toml.path("insecure_registries").forEach(n -> insecure.add(n.asText()));
        long graceSeconds = toml.path("abandoned_grace_seconds").asLong(-1);
        return new ShimConfig(
                toml.has("root") ? Path.of(toml.get("root").asText()) : base.root(),
                toml.has("socket") ? Path.of(toml.get("socket").asText()) : base.socket(),
                toml.has("metrics_address") ? toml.get("metrics_address").asText() : base.metricsAddress(),
                toml.has("platform") ? Platform.parse(toml.get("platform").asText()) : base.platform(),
                insecure,
                toml.path("max_concurrent_downloads").asInt(base.maxConcurrentDownloads()),
                toml.path("max_concurrent_unpacks").asInt(base.maxConcurrentUnpacks()),
                graceSeconds < 0 ? Optional.empty() : Optional.of(Duration.ofSeconds(graceSeconds)));
    }

    public ShimConfig withRoot(Path root) {
        return new ShimConfig(root, socket, metricsAddress, platform, insecureRegistries, maxConcurrentDownloads,
                maxConcurrentUnpacks, grace);
    }

    public ShimConfig withSocket(Path socket) {
        return new ShimConfig(root, socket, metricsAddress, platform, insecureRegistries, maxConcurrentDownloads,
                maxConcurrentUnpacks, grace);
    }

    public ShimConfig withMetricsAddress(String address) {
        return new ShimConfig(root, socket, address, platform, insecureRegistries, maxConcurrentDownloads,
                maxConcurrentUnpacks, grace);
    }

    public ShimConfig withInsecureRegistries(List<String> more) {
        List<String> all = new ArrayList<>(insecureRegistries);
        all.addAll(more);
        return new ShimConfig(root, socket, metricsAddress, platform, Set.copyOf(all), maxConcurrentDownloads,
                maxConcurrentUnpacks, grace);
    }

    public ShimConfig withPlatform(Platform platform) {
        return new ShimConfig(root, socket, metricsAddress, platform, insecureRegistries, maxConcurrentDownloads,
                maxConcurrentUnpacks, grace);
    }
}
