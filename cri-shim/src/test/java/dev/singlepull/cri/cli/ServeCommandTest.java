package dev.singlepull.cri.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.errdefs.SinglepullException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ServeCommandTest {
    @TempDir
    Path dir;

    private ShimConfig parse(String... args) throws java.io.IOException {
        ServeCommand command = new ServeCommand();
        new CommandLine(command).parseArgs(args);
        if (command.config == null) {
            command.config = java.nio.file.Files.writeString(dir.resolve("empty.toml"), "");
        }
        return command.config();
    }

    @Test
    void mirrorFlagsAreRepeatableAndKeepTheirOrder() throws Exception {
        ShimConfig config = parse("--mirror", "docker.io=http://127.0.0.1:5000", "--mirror", "docker.io=https://mirror.example.com",
                "--mirror", "quay.io=127.0.0.1:6000", "--max-concurrent-downloads-per-host", "2",
                "--allow-foreign-urls");
        assertEquals(List.of(URI.create("http://127.0.0.1:5000"), URI.create("https://mirror.example.com")),
                config.registry().hosts().get("docker.io").mirrors());
        assertEquals(List.of(URI.create("//127.0.0.1:6000")), config.registry().hosts().get("quay.io").mirrors());
        assertEquals(2, config.registry().downloadsPerHost());
        assertTrue(config.registry().allowForeignUrls());
    }

    @Test
    void aMirrorWithoutRegistryIsRefused() {
        for (String bad : new String[] {"http://127.0.0.1:5000", "docker.io=", "=http://x"}) {
            assertThrows(SinglepullException.class, () -> parse("--mirror", bad), bad);
        }
    }

    @Test
    void runtimeFlagsSetTheRuntimeTier() throws Exception {
        ShimConfig defaults = parse("--socket", dir.resolve("cri.sock").toString());
        assertEquals(java.util.Optional.of(dir.resolve("cri-snapshotter.sock")), defaults.snapshotterSocket(),
                "by default the snapshots service listens beside the CRI socket");
        assertTrue(!defaults.runtime().registers());
        ShimConfig config = parse("--containerd-address", "/run/containerd/containerd.sock",
                "--snapshotter-socket", "/run/x/snap.sock", "--snapshotter-name", "sp");
        assertEquals("/run/containerd/containerd.sock", config.runtime().containerdAddress());
        assertEquals(java.util.Optional.of(Path.of("/run/x/snap.sock")), config.snapshotterSocket());
        assertEquals("sp", config.runtime().snapshotter());
        assertEquals(java.util.Optional.empty(), parse("--snapshotter-socket", "").snapshotterSocket());
    }

    @Test
    void theContainerdSnippetNamesThePluginAndItsSocket() throws Exception {
        String snippet = dev.singlepull.cri.runtime.ContainerdConfigSnippet.of(parse("--snapshotter-socket",
                "/run/singlepull/snapshotter.sock"));
        assertTrue(snippet.contains("[proxy_plugins.singlepull]\n  type = \"snapshot\"\n"
                + "  address = \"/run/singlepull/snapshotter.sock\""), snippet);
        assertTrue(snippet.contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  snapshotter = \"singlepull\""),
                snippet);
        assertThrows(SinglepullException.class,
                () -> dev.singlepull.cri.runtime.ContainerdConfigSnippet.of(parse("--snapshotter-socket", "")));
    }

    @Test
    void clusterFlagsOverrideTheClusterTable() throws Exception {
        ShimConfig config = parse("--cluster-redis", "redis://127.0.0.1:6379", "--node-id", "n1", "--peer-listen",
                "127.0.0.1:0", "--peer-advertise", "127.0.0.1:7000", "--peer-token-file", "/run/token");
        assertTrue(config.cluster().enabled());
        assertEquals("n1", config.cluster().nodeId());
        assertEquals("127.0.0.1:0", config.cluster().peerListen());
        assertEquals("127.0.0.1:7000", config.cluster().peerAdvertise());
        assertEquals(java.util.Optional.of(Path.of("/run/token")), config.cluster().peerTokenFile());
        assertThrows(SinglepullException.class, () -> parse("--cluster-redis", "redis://127.0.0.1:6379"),
                "the tier needs the cluster's secret");
    }
}
