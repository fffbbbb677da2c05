package dev.singlepull.cri.config;

import dev.singlepull.errdefs.SinglepullException;
import java.util.Objects;

/**
 * The runtime tier: how singlepull works with containerd ({@code [runtime]} in the config file).
 *
 * <pre>
 * [runtime]
 * containerd_address = ""                                  # containerd's socket; "" (the default): no registration
 * namespace = "k8s.io"                                     # containerd namespace images are registered in
 * snapshotter = "singlepull"                               # the proxy plugin's name in containerd's config
 * snapshotter_socket = "/run/singlepull/snapshotter.sock"  # "" : no snapshots service
 * </pre>
 *
 * @param containerdAddress containerd's socket path, or empty: images are not registered in containerd
 * @param namespace         the containerd namespace (the CRI plugin's is {@code k8s.io})
 * @param snapshotter       the name containerd knows singlepull's snapshots service by
 * @param snapshotterSocket where the snapshots service listens: a path, empty for none, or null for beside the CRI
 *                          socket ({@link ShimConfig#snapshotterSocket()}; {@code /run/singlepull/snapshotter.sock}
 *                          by default)
 */
public record RuntimeSettings(String containerdAddress, String namespace, String snapshotter,
                              String snapshotterSocket) {
    public static final String DEFAULT_SOCKET_NAME = "snapshotter.sock";
    public static final RuntimeSettings DEFAULTS = new RuntimeSettings("", "k8s.io", "singlepull", null);

    public RuntimeSettings {
        Objects.requireNonNull(containerdAddress, "containerdAddress");
        if (namespace == null || namespace.isBlank()) {
            throw SinglepullException.invalidArgument("runtime.namespace must not be empty");
        }
        if (snapshotter == null || snapshotter.isBlank()) {
            throw SinglepullException.invalidArgument("runtime.snapshotter must not be empty");
        }
    }

    /** True when pulled images are registered in containerd. */
    public boolean registers() {
        return !containerdAddress.isBlank();
    }

    public RuntimeSettings withContainerdAddress(String value) {
        return new RuntimeSettings(value, namespace, snapshotter, snapshotterSocket);
    }

    public RuntimeSettings withNamespace(String value) {
        return new RuntimeSettings(containerdAddress, value, snapshotter, snapshotterSocket);
    }

    public RuntimeSettings withSnapshotter(String value) {
        return new RuntimeSettings(containerdAddress, namespace, value, snapshotterSocket);
    }

    public RuntimeSettings withSnapshotterSocket(String value) {
        return new RuntimeSettings(containerdAddress, namespace, snapshotter, value);
    }
}
