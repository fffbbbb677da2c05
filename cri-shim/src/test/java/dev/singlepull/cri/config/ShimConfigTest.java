package dev.singlepull.cri.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.registry.HostConfig;
import dev.singlepull.cri.registry.RegistrySettings;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.snapshot.SnapshotSync;
import dev.singlepull.unpack.tar.GzipDecoder;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShimConfigTest {
    @TempDir
    Path dir;

    private ShimConfig load(String toml) throws IOException {
        return ShimConfig.load(Files.writeString(dir.resolve("config.toml"), toml));
    }

    @Test
    void registriesTablesGiveMirrorsServerTlsAndInsecure() throws IOException {
        ShimConfig config = load("""
                insecure_registries = ["legacy.internal:5000"]
                max_concurrent_downloads_per_host = 3
                allow_foreign_urls = true
                registry_attempts = 2
                registry_backoff_ms = 50
                max_retry_after_seconds = 5
                circuit_breaker_failures = 7
                circuit_breaker_open_seconds = 9
                circuit_breaker_slice_ms = 250
                registry_outage_seconds = 4
                max_blob_resumes = 1

                [registries."docker.io"]
                mirrors = ["http://127.0.0.1:5000", "mirror.example.com/prefix"]
                server = "https://registry-1.docker.io"

                [registries."registry.internal:5000"]
                ca = "/etc/singlepull/internal-ca.pem"
                skip_verify = false
                insecure = false
                """);
        RegistrySettings r = config.registry();
        HostConfig hub = r.hosts().get("docker.io");
        assertEquals(List.of(URI.create("http://127.0.0.1:5000"), URI.create("//mirror.example.com/prefix")),
                hub.mirrors());
        assertEquals(Optional.of(URI.create("https://registry-1.docker.io")), hub.server());
        HostConfig internal = r.hosts().get("registry.internal:5000");
        assertEquals(Optional.of(Path.of("/etc/singlepull/internal-ca.pem")), internal.ca());
        assertFalse(internal.insecure());
        assertEquals(Set.of("legacy.internal:5000"), config.insecureRegistries());
        assertEquals(3, r.downloadsPerHost());
        assertTrue(r.allowForeignUrls());
        assertEquals(2, r.attempts());
        assertEquals(Duration.ofMillis(50), r.backoff());
        assertEquals(Duration.ofSeconds(5), r.maxRetryAfter());
        assertEquals(7, r.breakerFailures());
        assertEquals(Duration.ofSeconds(9), r.breakerOpen());
        assertEquals(Duration.ofMillis(250), r.breakerSlice());
        assertEquals(Duration.ofSeconds(4), r.outageWindow());
        assertEquals(1, r.maxBlobResumes());
    }

    @Test
    void defaultsNeedNoRegistriesTable() throws IOException {
        ShimConfig config = load("platform = \"linux/arm64\"\n");
        assertEquals(RegistrySettings.DEFAULTS.attempts(), config.registry().attempts());
        assertTrue(config.registry().hosts().isEmpty());
        assertFalse(config.registry().allowForeignUrls());
    }

    @Test
    void mistakesNameTheFileAndTheKey() {
        for (String bad : new String[] {
                "[registries.\"docker.io\"]\nmirror = [\"http://127.0.0.1:5000\"]\n",
                "[registries.\"docker.io\"]\nmirrors = \"http://127.0.0.1:5000\"\n",
                "[registries.\"docker.io\"]\ninsecure = \"yes\"\n",
                "[registries.\"docker.io\"]\nmirrors = [\"http://\"]\n",
                "registries = 3\n",
                "registry_attempts = 0\n",
                "unknown_thing = 1\n"}) {
            SinglepullException e = assertThrows(SinglepullException.class, () -> load(bad), bad);
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), bad);
            assertTrue(e.getMessage().contains("config.toml"), e.getMessage());
        }
    }

    @Test
    void builderPutsFlagMirrorsFirst() {
        ShimConfig config = ShimConfig.defaults().toBuilder()
                .host("docker.io", new HostConfig(List.of(URI.create("https://mirror.example.com")), Optional.empty(),
                        false, Optional.empty(), false))
                .addMirrors("docker.io", List.of(URI.create("http://127.0.0.1:5000")))
                .build();
        assertEquals(List.of(URI.create("http://127.0.0.1:5000"), URI.create("https://mirror.example.com")),
                config.registry().hosts().get("docker.io").mirrors());
    }

    @Test
    void durabilityAndIngestKeysHaveDefaultsAndAreRead() throws Exception {
        assertEquals(SnapshotSync.SYNCFS, ShimConfig.defaults().snapshotSync());
        assertEquals(Duration.ofHours(24), ShimConfig.defaults().staleIngestAge());
        Path file = Files.writeString(dir.resolve("config.toml"), """
                snapshot_sync = "fsync"
                stale_ingest_seconds = 3600
                """);
        ShimConfig config = ShimConfig.load(file);
        assertEquals(SnapshotSync.FSYNC, config.snapshotSync());
        assertEquals(Duration.ofHours(1), config.staleIngestAge());
    }

    @Test
    void badValuesNameTheFileAndTheKey() throws Exception {
        Path sync = Files.writeString(dir.resolve("sync.toml"), "snapshot_sync = \"sometimes\"\n");
        var e = assertThrows(SinglepullException.class, () -> ShimConfig.load(sync));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("snapshot_sync"), e.getMessage());
        Path age = Files.writeString(dir.resolve("age.toml"), "stale_ingest_seconds = 0\n");
        var e2 = assertThrows(SinglepullException.class, () -> ShimConfig.load(age));
        assertTrue(e2.getMessage().contains("age.toml") && e2.getMessage().contains("stale_ingest_seconds"),
                e2.getMessage());
    }

    @Test
    void theDecompressionBombGuardHasDefaultsAndIsConfigurable() throws IOException {
        ShimConfig defaults = ShimConfig.defaults();
        assertEquals(100, defaults.maxExpansionRatio());
        assertEquals(256L << 20, defaults.expansionCheckAbove());
        ShimConfig loaded = load("""
                max_layer_expansion_ratio = 400
                expansion_check_above_bytes = 1073741824
                """);
        assertEquals(400, loaded.maxExpansionRatio());
        assertEquals(1L << 30, loaded.expansionCheckAbove());
        assertEquals(0, load("max_layer_expansion_ratio = 0\n").maxExpansionRatio());
    }

    @Test
    void aNegativeRatioIsInvalidArgumentNamingTheKey() {
        var e = assertThrows(SinglepullException.class, () -> load("max_layer_expansion_ratio = -1\n"));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("max_layer_expansion_ratio"), e.getMessage());
    }

    @Test
    void theGzipDecoderDefaultsToAutoAndIsRead() throws IOException {
        assertEquals(GzipDecoder.AUTO, ShimConfig.defaults().gzipDecoder());
        assertEquals(GzipDecoder.JDK, load("gzip_decoder = \"jdk\"\n").gzipDecoder());
        assertEquals(GzipDecoder.ISAL, load("gzip_decoder = \"ISAL\"\n").gzipDecoder());
        var e = assertThrows(SinglepullException.class, () -> load("gzip_decoder = \"pigz\"\n"));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("pigz") && e.getMessage().contains("auto, isal, jdk"), e.getMessage());
    }

    @Test
    void theRuntimeTableIsReadAndItsMistakesNamed() throws IOException {
        ShimConfig config = load("""
                socket = "/run/sp/cri.sock"
                [runtime]
                containerd_address = "/run/containerd/containerd.sock"
                namespace = "other"
                snapshotter = "sp"
                snapshotter_socket = "/run/sp/snap.sock"
                """);
        assertEquals(new RuntimeSettings("/run/containerd/containerd.sock", "other", "sp", "/run/sp/snap.sock"),
                config.runtime());
        assertTrue(config.runtime().registers());
        ShimConfig defaults = load("socket = \"/run/sp/cri.sock\"\n");
        assertEquals(RuntimeSettings.DEFAULTS, defaults.runtime());
        assertEquals(java.util.Optional.of(Path.of("/run/sp/cri-snapshotter.sock")), defaults.snapshotterSocket());
        assertEquals(java.util.Optional.empty(), load("[runtime]\nsnapshotter_socket = \"\"\n").snapshotterSocket());
        assertEquals(java.util.Optional.of(Path.of("/run/singlepull/snapshotter.sock")),
                load("socket = \"/run/singlepull/singlepull.sock\"\n").snapshotterSocket(), "the documented default");
        SinglepullException e = assertThrows(SinglepullException.class, () -> load("[runtime]\nsnapshoter = \"x\"\n"));
        assertTrue(e.getMessage().contains("snapshoter"), e.getMessage());
        assertThrows(SinglepullException.class, () -> load("[runtime]\nnamespace = \"\"\n"));
    }

    @Test
    void theClusterTableSetsTheTierAndItIsOffByDefault() throws IOException {
        assertFalse(ShimConfig.defaults().cluster().enabled());
        ShimConfig config = load("""
                [cluster]
                redis = "redis://10.0.0.5:6379"
                node_id = "node-a"
                peer_listen = "0.0.0.0:5051"
                peer_advertise = "10.0.0.7:5051"
                peer_token_file = "/etc/singlepull/cluster-token"
                max_peer_uploads = 3
                redis_timeout_ms = 250
                """);
        var cluster = config.cluster();
        assertTrue(cluster.enabled());
        assertEquals("redis://10.0.0.5:6379", cluster.redis());
        assertEquals("node-a", cluster.resolvedNodeId());
        assertEquals("0.0.0.0:5051", cluster.peerListen());
        assertEquals("10.0.0.7:5051", cluster.peerAdvertise());
        assertEquals(Optional.of(Path.of("/etc/singlepull/cluster-token")), cluster.peerTokenFile());
        assertEquals(3, cluster.maxPeerUploads());
        assertEquals(Duration.ofMillis(250), cluster.storeTimeout());
    }

    @Test
    void aClusterWithoutTokenOrWithUnknownKeysIsRefused() {
        for (String bad : new String[] {"[cluster]\nredis = \"redis://r:6379\"\n", "[cluster]\nredis_url = \"x\"\n",
                "[cluster]\npeer_listen = \"nowhere\"\n", "[cluster]\nmax_peer_uploads = 0\n"}) {
            var e = assertThrows(SinglepullException.class, () -> load(bad), bad);
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), bad);
        }
    }
}
