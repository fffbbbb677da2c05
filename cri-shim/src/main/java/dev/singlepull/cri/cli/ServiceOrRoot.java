package dev.singlepull.cri.cli;

import dev.singlepull.api.cri.v1.VersionRequest;
import dev.singlepull.cri.Node;
import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.server.RootLock;
import dev.singlepull.errdefs.SinglepullException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Runs a maintenance command where it belongs: through the running service when one answers on the socket (it owns
 * the root, and its pulls go on meanwhile), otherwise on the root directly, holding the root's lock so that no
 * service starts meanwhile. A root that is locked while nothing answers on the socket is a clear error: the service
 * there serves another socket, or is stuck.
 */
final class ServiceOrRoot {
    private static final long PROBE_SECONDS = 5;

    private ServiceOrRoot() {
    }

    /** Where the command ran, for the one line that tells the user. */
    enum Where { SERVICE, ROOT }

    record Outcome<T>(Where where, T value) { }

    /**
     * @param viaService the command over a connected client (the service answered)
     * @param onRoot     the command on the opened root (no service answers)
     * @param open       how to open the root when no service answers
     */
    static <T> Outcome<T> run(ShimConfig config, Function<CriClient, T> viaService, Function<ShimConfig, Node> open,
                              Function<Node, T> onRoot) {
        if (Files.exists(config.socket())) {
            try (CriClient client = new CriClient(config.socket().toString())) {
                if (answers(client)) {
                    return new Outcome<>(Where.SERVICE, viaService.apply(client));
                }
            }
        }
        Node node;
        try {
            node = open.apply(config);
        } catch (RootLock.InUseException e) {
            throw SinglepullException.failedPrecondition("no singlepull answers on socket " + config.socket()
                    + ", but root " + e.root() + " is locked by a running singlepull process"
                    + (e.holder().isEmpty() ? "" : " (pid " + e.holder() + ")")
                    + ": pass the --socket that process serves on, or stop it to work on the root directly");
        }
        try (node) {
            return new Outcome<>(Where.ROOT, onRoot.apply(node));
        }
    }

    /** True if a singlepull answers on the client's socket; false if nothing listens there (a stale socket file). */
    private static boolean answers(CriClient client) {
        try {
            client.runtime().withDeadlineAfter(PROBE_SECONDS, TimeUnit.SECONDS)
                    .version(VersionRequest.getDefaultInstance());
            return true;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.UNAVAILABLE
                    || e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
                return false;
            }
            throw e;
        }
    }
}
