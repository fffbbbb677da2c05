package dev.singlepull.cri.server;

import com.google.protobuf.Empty;
import com.google.protobuf.Timestamp;
import dev.singlepull.api.containerd.snapshots.v1.CleanupRequest;
import dev.singlepull.api.containerd.snapshots.v1.CommitSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.Info;
import dev.singlepull.api.containerd.snapshots.v1.Kind;
import dev.singlepull.api.containerd.snapshots.v1.ListSnapshotsRequest;
import dev.singlepull.api.containerd.snapshots.v1.ListSnapshotsResponse;
import dev.singlepull.api.containerd.snapshots.v1.MountsRequest;
import dev.singlepull.api.containerd.snapshots.v1.MountsResponse;
import dev.singlepull.api.containerd.snapshots.v1.PrepareSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.PrepareSnapshotResponse;
import dev.singlepull.api.containerd.snapshots.v1.RemoveSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.SnapshotsGrpc;
import dev.singlepull.api.containerd.snapshots.v1.StatSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.StatSnapshotResponse;
import dev.singlepull.api.containerd.snapshots.v1.UpdateSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.UpdateSnapshotResponse;
import dev.singlepull.api.containerd.snapshots.v1.UsageRequest;
import dev.singlepull.api.containerd.snapshots.v1.UsageResponse;
import dev.singlepull.api.containerd.snapshots.v1.ViewSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.ViewSnapshotResponse;
import dev.singlepull.api.containerd.types.Mount;
import dev.singlepull.cri.snapshots.ProxySnapshotter;
import dev.singlepull.cri.snapshots.SnapshotEntry;
import dev.singlepull.cri.snapshots.SnapshotFilters;
import dev.singlepull.cri.snapshots.SnapshotMount;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.snapshot.Trees;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * containerd's {@code containerd.services.snapshots.v1.Snapshots} over {@link ProxySnapshotter}: protos to domain
 * calls and back, errors to statuses. Each call is logged (at INFO, with its outcome) and counted by method, so that
 * what a runtime asked of singlepull can be read afterwards.
 */
final class SnapshotsGrpcService extends SnapshotsGrpc.SnapshotsImplBase {
    /** Snapshots per List message. */
    static final int LIST_BATCH = 100;
    private static final System.Logger LOG = System.getLogger(SnapshotsGrpcService.class.getName());

    private final ProxySnapshotter snapshots;
    private final Map<String, LongAdder> calls = new ConcurrentHashMap<>();

    SnapshotsGrpcService(ProxySnapshotter snapshots) {
        this.snapshots = snapshots;
    }

    /** How many calls of each method were made so far, by method name. */
    Map<String, Long> calls() {
        Map<String, Long> out = new TreeMap<>();
        calls.forEach((method, n) -> out.put(method, n.sum()));
        return out;
    }

    @Override
    public void prepare(PrepareSnapshotRequest r, StreamObserver<PrepareSnapshotResponse> observer) {
        answer(observer, "Prepare", r.getKey() + " parent=" + r.getParent() + " labels=" + r.getLabelsMap(),
                () -> PrepareSnapshotResponse.newBuilder()
                        .addAllMounts(mounts(snapshots.prepare(r.getKey(), r.getParent(), r.getLabelsMap()))).build());
    }

    @Override
    public void view(ViewSnapshotRequest r, StreamObserver<ViewSnapshotResponse> observer) {
        answer(observer, "View", r.getKey() + " parent=" + r.getParent(), () -> ViewSnapshotResponse.newBuilder()
                .addAllMounts(mounts(snapshots.view(r.getKey(), r.getParent(), r.getLabelsMap()))).build());
    }

    @Override
    public void mounts(MountsRequest r, StreamObserver<MountsResponse> observer) {
        answer(observer, "Mounts", r.getKey(), () -> MountsResponse.newBuilder()
                .addAllMounts(mounts(snapshots.mounts(r.getKey()))).build());
    }

    @Override
    public void commit(CommitSnapshotRequest r, StreamObserver<Empty> observer) {
        answer(observer, "Commit", r.getKey() + " as " + r.getName(), () -> {
            snapshots.commit(r.getName(), r.getKey(), r.getLabelsMap());
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public void remove(RemoveSnapshotRequest r, StreamObserver<Empty> observer) {
        answer(observer, "Remove", r.getKey(), () -> {
            snapshots.remove(r.getKey());
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public void stat(StatSnapshotRequest r, StreamObserver<StatSnapshotResponse> observer) {
        answer(observer, "Stat", r.getKey(), () -> StatSnapshotResponse.newBuilder()
                .setInfo(info(snapshots.stat(r.getKey()))).build());
    }

    @Override
    public void update(UpdateSnapshotRequest r, StreamObserver<UpdateSnapshotResponse> observer) {
        answer(observer, "Update", r.getInfo().getName() + " paths=" + r.getUpdateMask().getPathsList(),
                () -> UpdateSnapshotResponse.newBuilder().setInfo(info(snapshots.update(r.getInfo().getName(),
                        r.getInfo().getLabelsMap(), r.getUpdateMask().getPathsList()))).build());
    }

    @Override
    public void list(ListSnapshotsRequest r, StreamObserver<ListSnapshotsResponse> observer) {
        count("List");
        List<SnapshotEntry> found;
        try {
            found = snapshots.list(SnapshotFilters.anyOf(r.getFiltersList()));
        } catch (RuntimeException e) {
            log("List", r.getFiltersList().toString(), e);
            observer.onError(StatusMapper.toStatus(e));
            return;
        }
        LOG.log(System.Logger.Level.DEBUG, "snapshots: List filters={0} -> {1} snapshot(s)", r.getFiltersList(),
                found.size());
        for (int i = 0; i < found.size(); i += LIST_BATCH) {
            ListSnapshotsResponse.Builder batch = ListSnapshotsResponse.newBuilder();
            found.subList(i, Math.min(found.size(), i + LIST_BATCH)).forEach(e -> batch.addInfo(info(e)));
            observer.onNext(batch.build());
        }
        observer.onCompleted();
    }

    @Override
    public void usage(UsageRequest r, StreamObserver<UsageResponse> observer) {
        answer(observer, "Usage", r.getKey(), () -> {
            Trees.Usage usage = snapshots.usage(r.getKey());
            return UsageResponse.newBuilder().setSize(usage.size()).setInodes(usage.inodes()).build();
        });
    }

    @Override
    public void cleanup(CleanupRequest r, StreamObserver<Empty> observer) {
        answer(observer, "Cleanup", "", () -> {
            snapshots.cleanup();
            return Empty.getDefaultInstance();
        });
    }

    private <T> void answer(StreamObserver<T> observer, String method, String what, Supplier<T> body) {
        count(method);
        CallBridge.answer(observer, () -> {
            try {
                T value = body.get();
                LOG.log(System.Logger.Level.DEBUG, "snapshots: {0} {1} -> OK", method, what);
                return value;
            } catch (RuntimeException e) {
                log(method, what, e);
                throw e;
            }
        });
    }

    private void count(String method) {
        calls.computeIfAbsent(method, m -> new LongAdder()).increment();
        if (Context.current().isCancelled()) {
            LOG.log(System.Logger.Level.DEBUG, "snapshots: {0} arrived cancelled", method);
        }
    }

    /** ALREADY_EXISTS and NOT_FOUND are the protocol's ordinary answers (registration, containerd's Stat): DEBUG. */
    private static void log(String method, String what, RuntimeException e) {
        var kind = SinglepullException.kindOf(e);
        boolean ordinary = kind == ErrorKind.ALREADY_EXISTS
                || kind == ErrorKind.NOT_FOUND;
        LOG.log(ordinary ? System.Logger.Level.DEBUG : System.Logger.Level.INFO, "snapshots: {0} {1} -> {2}: {3}",
                method, what, kind, e.getMessage());
    }

    private static List<Mount> mounts(List<SnapshotMount> mounts) {
        return mounts.stream().map(m -> Mount.newBuilder().setType(m.type()).setSource(m.source())
                .addAllOptions(m.options()).build()).toList();
    }

    private static Info info(SnapshotEntry e) {
        Info.Builder b = Info.newBuilder().setName(e.name()).setKind(switch (e.kind()) {
            case ACTIVE -> Kind.ACTIVE;
            case VIEW -> Kind.VIEW;
            case COMMITTED -> Kind.COMMITTED;
        }).putAllLabels(e.labels());
        if (e.parent() != null) {
            b.setParent(e.parent());
        }
        if (e.created() != null) {
            b.setCreatedAt(timestamp(e.created()));
        }
        if (e.updated() != null) {
            b.setUpdatedAt(timestamp(e.updated()));
        }
        return b.build();
    }

    private static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }
}
