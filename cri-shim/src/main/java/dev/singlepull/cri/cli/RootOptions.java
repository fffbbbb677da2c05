package dev.singlepull.cri.cli;

import dev.singlepull.cri.config.ShimConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options that say which root and socket a maintenance command ({@code gc}, {@code fsck}) means: the same as
 * {@code serve}'s, with the same defaults (the config file's, else the embedded ones).
 */
final class RootOptions {
    @Option(names = "--config", paramLabel = "FILE",
            description = "TOML config (default: /etc/singlepull/config.toml if it exists)")
    Path config;

    @Option(names = "--root", paramLabel = "DIR", description = "state directory (default: as serve)")
    Path root;

    @Option(names = "--socket", paramLabel = "PATH", description = "socket of the service on that root (default: as serve)")
    Path socket;

    /** The config file's settings (or the defaults) with --root and --socket applied. */
    ShimConfig resolve() {
        ShimConfig.Builder b = ServeCommand.baseConfig(config).toBuilder();
        if (root != null) {
            b.root(root);
        }
        if (socket != null) {
            b.socket(socket);
        }
        return b.build();
    }

    static boolean exists(Path path) {
        return Files.exists(path);
    }
}
