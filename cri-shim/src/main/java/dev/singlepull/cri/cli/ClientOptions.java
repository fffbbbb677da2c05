package dev.singlepull.cri.cli;

import dev.singlepull.cri.config.DefaultPaths;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The socket option every client command shares. */
final class ClientOptions {
    @Option(names = "--socket", paramLabel = "PATH", description = "singlepull's socket (default: ${DEFAULT-VALUE})")
    Path socket = DefaultPaths.socket();

    CriClient connect() {
        return new CriClient(socket.toString());
    }
}
