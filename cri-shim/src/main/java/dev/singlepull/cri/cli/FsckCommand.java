package dev.singlepull.cri.cli;

import dev.singlepull.api.admin.v1.FsckFinding;
import dev.singlepull.api.admin.v1.FsckRequest;
import dev.singlepull.api.admin.v1.FsckResponse;
import dev.singlepull.cri.Node;
import dev.singlepull.cri.server.AdminProtos;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Checks the store of a root: every committed blob hashes to its name, every snapshot record has its directory (with
 * the bytes it recorded) and every snapshot directory its record, every image record's blobs and snapshots exist.
 * Leftovers of interrupted work (ingests, staging directories, commits and removals a crash cut short) are listed
 * but are not problems. Exit status: 0 consistent, 1 problems found (listed; with --repair, marked repaired),
 * 2 the check could not run.
 */
@Command(name = "fsck", description = {"Check the store's consistency: blobs against their digests, snapshot records "
        + "against their directories, images against what they reference.",
        "Asks the service on --socket if one answers; otherwise works on --root directly (taking its lock).",
        "Exit status: 0 consistent, 1 problems found, 2 the check could not run."})
final class FsckCommand implements Callable<Integer> {
    static final int CONSISTENT = 0;
    static final int PROBLEMS = 1;

    @Mixin
    RootOptions where;

    @Option(names = "--repair", description = "delete corrupt blobs, drop broken snapshots and stray directories, and "
            + "remove image records that reference missing content (pull those images again)")
    boolean repair;

    @Option(names = {"-q", "--quiet"}, description = "list problems only, not leftovers")
    boolean quiet;

    @Override
    public Integer call() {
        var outcome = ServiceOrRoot.run(where.resolve(),
                client -> client.admin().fsck(FsckRequest.newBuilder().setRepair(repair).build()),
                Node::openForInspection,
                node -> AdminProtos.toProto(node.fsck(repair)));
        return print(outcome.value(), outcome.where(), quiet, repair, System.out);
    }

    /** Prints the report and returns the exit status. */
    static int print(FsckResponse response, ServiceOrRoot.Where where, boolean quiet, boolean repairAsked,
                     PrintStream out) {
        out.printf("checked %d blobs, %d snapshots, %d images (%s)%n", response.getBlobsChecked(),
                response.getSnapshotsChecked(), response.getImagesChecked(),
                where == ServiceOrRoot.Where.SERVICE ? "by the running service" : "on the root, no service running");
        long problems = 0;
        long leftovers = 0;
        for (FsckFinding f : response.getFindingsList()) {
            if (f.getProblem()) {
                problems++;
            } else {
                leftovers++;
                if (quiet) {
                    continue;
                }
            }
            out.println((f.getProblem() ? (f.getRepaired() ? "REPAIRED " : "PROBLEM  ") : "leftover ")
                    + f.getSubject() + ": " + f.getDetail());
        }
        if (problems == 0) {
            out.println("consistent" + (leftovers == 0 ? "" : " (" + leftovers + " leftovers of interrupted or "
                    + "running work, cleaned up without help)"));
            return CONSISTENT;
        }
        long repaired = response.getFindingsList().stream().filter(f -> f.getProblem() && f.getRepaired()).count();
        out.println(problems + " problems found" + (repairAsked ? ", " + repaired + " repaired"
                : "; `singlepull fsck --repair` fixes them"));
        return PROBLEMS;
    }
}
