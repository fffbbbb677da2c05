package dev.singlepull.cri.cli;

import dev.singlepull.api.admin.v1.CollectGarbageRequest;
import dev.singlepull.api.admin.v1.CollectGarbageResponse;
import dev.singlepull.api.admin.v1.FreedResources;
import dev.singlepull.cri.Node;
import dev.singlepull.cri.server.AdminProtos;
import dev.singlepull.content.meta.Leases;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Frees what no image and no pull in flight uses: blobs and snapshots (mark and sweep), expired leases and stale
 * ingests. Through the running service if one answers on the socket, else on the root directly.
 */
@Command(name = "gc", description = {"Free blobs and snapshots that no image and no pull in flight uses, and remove "
        + "stale partial downloads.", "Asks the service on --socket if one answers; otherwise works on --root "
        + "directly (taking its lock)."})
final class GcCommand implements Callable<Integer> {
    @Mixin
    RootOptions where;

    @Option(names = {"-v", "--verbose"}, description = "list every blob digest and snapshot ChainID freed")
    boolean verbose;

    @Override
    public Integer call() {
        var outcome = ServiceOrRoot.run(where.resolve(),
                client -> client.admin().collectGarbage(CollectGarbageRequest.getDefaultInstance()),
                config -> Node.open(config, dev.singlepull.dedup.FlightListener.NONE),
                node -> AdminProtos.toProto(node.collectGarbage()));
        print(outcome.value(), outcome.where(), verbose, System.out);
        return 0;
    }

    static void print(CollectGarbageResponse response, ServiceOrRoot.Where where, boolean verbose, PrintStream out) {
        out.println(where == ServiceOrRoot.Where.SERVICE ? "garbage collection by the running service:"
                : "garbage collection on the root (no service running):");
        long total = 0;
        for (FreedResources freed : response.getFreedList()) {
            String noun = Leases.CONTENT.equals(freed.getKind()) ? "blobs" : freed.getKind() + "s";
            out.printf("  %-9s %6d freed  %10s%n", noun, freed.getCount(), Sizes.human(freed.getBytes()));
            total += freed.getBytes();
            if (verbose) {
                freed.getIdsList().forEach(id -> out.println("      " + id));
            }
        }
        out.printf("  %-9s %6d removed%n", "ingests", response.getStaleIngests());
        out.printf("  %-9s %6d expired%n", "leases", response.getExpiredLeases());
        out.println("freed " + Sizes.human(total) + " (" + total + " bytes)");
    }
}
