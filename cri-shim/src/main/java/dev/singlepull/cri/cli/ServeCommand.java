package dev.singlepull.cri.cli;

import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.registry.Platform;
import dev.singlepull.cri.server.Daemon;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the CRI image service until SIGTERM or SIGINT. */
@Command(name = "serve", description = "Serve the CRI ImageService on a unix socket.")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE",
            description = "TOML config (default: /etc/singlepull/config.toml if it exists)")
    Path config;

    @Option(names = "--root", paramLabel = "DIR", description = "state directory (default: ${DEFAULT-VALUE})")
    Path root;

    @Option(names = "--socket", paramLabel = "PATH", description = "unix socket to serve on")
    Path socket;

    @Option(names = "--metrics-address", paramLabel = "HOST:PORT",
            description = "Prometheus metrics address (default 127.0.0.1:9464; \"\" disables)")
    String metricsAddress;

    @Option(names = "--insecure-registry", paramLabel = "HOST[:PORT]",
            description = "reach this registry over plain http (repeatable; loopback registries always are)")
    List<String> insecureRegistries = new ArrayList<>();

    @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]", description = "platform to pull (default linux/amd64)")
    String platform;

    @Override
    public Integer call() throws InterruptedException {
        ShimConfig cfg = config != null ? ShimConfig.load(config)
                : Files.exists(ShimConfig.SYSTEM_CONFIG) ? ShimConfig.load(ShimConfig.SYSTEM_CONFIG) : ShimConfig.defaults();
        if (root != null) {
            cfg = cfg.withRoot(root);
        }
        if (socket != null) {
            cfg = cfg.withSocket(socket);
        }
        if (metricsAddress != null) {
            cfg = cfg.withMetricsAddress(metricsAddress);
        }
        if (platform != null) {
            cfg = cfg.withPlatform(Platform.parse(platform));
        }
        cfg = cfg.withInsecureRegistries(insecureRegistries);
        Daemon daemon = Daemon.start(cfg, Main.VERSION);
        Runtime.getRuntime().addShutdownHook(new Thread(daemon::close, "singlepull-shutdown"));
        System.err.println("singlepull " + Main.VERSION + " serving on " + daemon.socket() + " (root "
                + cfg.root().toAbsolutePath() + (daemon.metricsPort().map(p -> ", metrics on port " + p).orElse(""))
                + ")");
        daemon.awaitTermination();
        return 0;
    }
}
