package dev.singlepull.cri.server;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Silences one harmless netty warning: every unix-socket connection logs "Unknown channel option 'SO_KEEPALIVE'"
 * because gRPC sets TCP options that domain sockets lack. Only that logger is raised to SEVERE; every other
 * warning still shows.
 */
public final class QuietNetty {
    // held strongly: java.util.logging keeps loggers weakly, and a collected logger forgets its level
    private static final Logger BOOTSTRAP = Logger.getLogger("io.grpc.netty.shaded.io.netty.bootstrap");

    private QuietNetty() {
    }

    public static void apply() {
        BOOTSTRAP.setLevel(Level.SEVERE);
    }
}
