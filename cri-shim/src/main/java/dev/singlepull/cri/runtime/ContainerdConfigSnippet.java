package dev.singlepull.cri.runtime;

import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.errdefs.SinglepullException;
import java.nio.file.Path;

/**
 * The part of containerd's config (version 2, containerd 1.6) that makes singlepull its snapshotter: the proxy plugin
 * at singlepull's snapshots socket, and the CRI plugin told to use it. Stateless.
 */
public final class ContainerdConfigSnippet {
    private ContainerdConfigSnippet() {
    }

    /** The snippet for {@code config}; FAILED_PRECONDITION when that configuration serves no snapshots service. */
    public static String of(ShimConfig config) {
        Path socket = config.snapshotterSocket().orElseThrow(() -> SinglepullException.failedPrecondition(
                "the configuration serves no snapshots service (snapshotter_socket = \"\"): containerd cannot use "
                        + "singlepull's layers; set [runtime] snapshotter_socket or --snapshotter-socket"));
        String name = config.runtime().snapshotter();
        return """
                # containerd config (version = 2): singlepull serves the snapshots of this node's containers.
                # Merge into /etc/containerd/config.toml and restart containerd after singlepull has started.
                version = 2

                [proxy_plugins.%1$s]
                  type = "snapshot"
                  address = "%2$s"

                [plugins."io.containerd.grpc.v1.cri".containerd]
                  snapshotter = "%1$s"
                """.formatted(quote(name), quote(socket.toAbsolutePath().toString()));
    }

    private static String quote(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
