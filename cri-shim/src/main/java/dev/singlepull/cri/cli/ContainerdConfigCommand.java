package dev.singlepull.cri.cli;

import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.runtime.ContainerdConfigSnippet;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Prints the containerd config snippet that makes singlepull containerd's snapshotter. */
@Command(name = "containerd-config",
        description = "Print the containerd config snippet for this configuration (proxy snapshotter + CRI plugin).")
final class ContainerdConfigCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE",
            description = "TOML config (default: /etc/singlepull/config.toml if it exists)")
    Path config;

    @Option(names = "--socket", paramLabel = "PATH", description = "the CRI socket singlepull serves on")
    Path socket;

    @Option(names = "--snapshotter-socket", paramLabel = "PATH", description = "the snapshots service's socket")
    String snapshotterSocket;

    @Option(names = "--snapshotter-name", paramLabel = "NAME", description = "the proxy plugin's name in containerd")
    String snapshotterName;

    @Override
    public Integer call() {
        ShimConfig.Builder b = ServeCommand.baseConfig(config).toBuilder();
        if (socket != null) {
            b.socket(socket);
        }
        if (snapshotterSocket != null) {
            b.runtime(r -> r.withSnapshotterSocket(snapshotterSocket));
        }
        if (snapshotterName != null) {
            b.runtime(r -> r.withSnapshotter(snapshotterName));
        }
        System.out.print(ContainerdConfigSnippet.of(b.build()));
        return 0;
    }
}
