package dev.singlepull.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * Debian's containerd with its CRI plugin, started by hand on a root, state and socket of its own, with the overlayfs
 * snapshotter and a hosts.toml that sends one loopback registry to plain http: the peer singlepull is measured
 * against. Needs root (overlay mounts).
 */
final class ContainerdProcess implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/containerd");

    private final Process process;
    private final Path socket;

    private ContainerdProcess(Process process, Path socket) {
        this.process = process;
        this.socket = socket;
    }

    static ContainerdProcess start(Path dir, String registryHostPort) throws IOException, InterruptedException {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException("containerd is not installed (Debian package containerd)");
        }
        Path certs = dir.resolve("certs.d").resolve(registryHostPort);
        Files.createDirectories(certs);
        Files.writeString(certs.resolve("hosts.toml"), """
                server = "http://%1$s"

                [host."http://%1$s"]
                  capabilities = ["pull", "resolve"]
                """.formatted(registryHostPort));
        Path socket = dir.resolve("containerd.sock");
        Path config = dir.resolve("config.toml");
        Files.writeString(config, """
                version = 2
                root = "%1$s/root"
                state = "%1$s/state"

                [grpc]
                  address = "%2$s"

                [plugins."io.containerd.grpc.v1.cri".containerd]
                  snapshotter = "overlayfs"

                [plugins."io.containerd.grpc.v1.cri".registry]
                  config_path = "%3$s"
                """.formatted(dir, socket, dir.resolve("certs.d")));
        Process process = new ProcessBuilder(BINARY.toString(), "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("containerd.log").toFile()).start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!Files.exists(socket)) {
            if (!process.isAlive() || Instant.now().isAfter(deadline)) {
                process.destroyForcibly();
                throw new IllegalStateException("containerd did not start: " + Files.readString(dir.resolve("containerd.log")));
            }
            Thread.sleep(100);
        }
        return new ContainerdProcess(process, socket);
    }

    Path socket() {
        return socket;
    }

    long pid() {
        return process.pid();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
