package dev.singlepull.cri.server;

import dev.singlepull.api.admin.v1.CollectGarbageResponse;
import dev.singlepull.api.admin.v1.FreedResources;
import dev.singlepull.api.admin.v1.FsckFinding;
import dev.singlepull.api.admin.v1.FsckResponse;
import dev.singlepull.content.Finding;
import dev.singlepull.content.meta.GarbageCollector;
import dev.singlepull.content.meta.Leases;
import dev.singlepull.cri.maintenance.FsckReport;
import dev.singlepull.cri.maintenance.GcReport;
import java.util.List;

/**
 * The Admin service's maintenance answers built from domain results; shared by the service and by the CLI when it
 * works on a root directly, so both print the same. Not instantiable.
 */
public final class AdminProtos {
    private AdminProtos() {
    }

    public static CollectGarbageResponse toProto(GcReport report) {
        GarbageCollector.Result collected = report.collected();
        CollectGarbageResponse.Builder out = CollectGarbageResponse.newBuilder()
                .setExpiredLeases(collected.expiredLeases())
                .setStaleIngests(report.staleIngests());
        for (String kind : List.of(Leases.CONTENT, Leases.SNAPSHOT)) {
            out.addFreed(FreedResources.newBuilder()
                    .setKind(kind)
                    .setCount(collected.count(kind))
                    .setBytes(collected.bytesFreed(kind))
                    .addAllIds(collected.removed().getOrDefault(kind, List.of())));
        }
        return out.build();
    }

    public static FsckResponse toProto(FsckReport report) {
        FsckResponse.Builder out = FsckResponse.newBuilder()
                .setBlobsChecked(report.blobs().checked())
                .setSnapshotsChecked(report.snapshots().checked())
                .setImagesChecked(report.images().checked());
        for (Finding f : report.findings()) {
            out.addFindings(FsckFinding.newBuilder()
                    .setProblem(f.isProblem())
                    .setSubject(f.subject())
                    .setDetail(f.detail())
                    .setRepaired(f.repaired()));
        }
        return out.build();
    }
}
