package dev.singlepull.cri.server;

import dev.singlepull.api.admin.v1.AdminGrpc;
import dev.singlepull.api.admin.v1.CollectGarbageRequest;
import dev.singlepull.api.admin.v1.CollectGarbageResponse;
import dev.singlepull.api.admin.v1.FsckRequest;
import dev.singlepull.api.admin.v1.FsckResponse;
import dev.singlepull.api.admin.v1.Flight;
import dev.singlepull.api.admin.v1.ListFlightsRequest;
import dev.singlepull.api.admin.v1.ListFlightsResponse;
import dev.singlepull.api.admin.v1.PullProgress;
import dev.singlepull.api.admin.v1.WatchPullRequest;
import dev.singlepull.cri.maintenance.FsckReport;
import dev.singlepull.cri.maintenance.GcReport;
import dev.singlepull.dedup.FlightInfo;
import dev.singlepull.dedup.FlightProgress;
import io.grpc.Context;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * singlepull's own Admin service: the live flights of every table, the progress of one pull as it goes, and the
 * store's maintenance ({@code singlepull gc} and {@code singlepull fsck} ask the running service through it). A
 * watch sends a reading every {@link #WATCH_INTERVAL} while the pull is in flight (a display refresh for people,
 * not a wait: nothing in the pull waits on it), then a last message with {@code done} set.
 */
final class AdminGrpcService extends AdminGrpc.AdminImplBase {
    static final Duration WATCH_INTERVAL = Duration.ofMillis(250);

    private final Supplier<List<FlightInfo>> flights;
    private final Function<String, Optional<FlightProgress>> pullProgress;
    private final Supplier<GcReport> collectGarbage;
    private final Function<Boolean, FsckReport> fsck;

    AdminGrpcService(Supplier<List<FlightInfo>> flights, Function<String, Optional<FlightProgress>> pullProgress,
                     Supplier<GcReport> collectGarbage, Function<Boolean, FsckReport> fsck) {
        this.flights = flights;
        this.pullProgress = pullProgress;
        this.collectGarbage = collectGarbage;
        this.fsck = fsck;
    }

    @Override
    public void collectGarbage(CollectGarbageRequest request, StreamObserver<CollectGarbageResponse> observer) {
        CallBridge.answer(observer, () -> AdminProtos.toProto(collectGarbage.get()));
    }

    @Override
    public void fsck(FsckRequest request, StreamObserver<FsckResponse> observer) {
        CallBridge.answer(observer, () -> AdminProtos.toProto(fsck.apply(request.getRepair())));
    }

    @Override
    public void listFlights(ListFlightsRequest request, StreamObserver<ListFlightsResponse> observer) {
        CallBridge.answer(observer, () -> {
            ListFlightsResponse.Builder response = ListFlightsResponse.newBuilder();
            for (FlightInfo f : flights.get()) {
                if (request.getTier().isEmpty() || request.getTier().equals(f.tier())) {
                    response.addFlights(toProto(f.tier(), f.key(), f.waiters(), f.progress(), f.age().toMillis()));
                }
            }
            return response.build();
        });
    }

    @Override
    public void watchPull(WatchPullRequest request, StreamObserver<PullProgress> observer) {
        var serverObserver = (ServerCallStreamObserver<PullProgress>) observer;
        try {
            while (!Context.current().isCancelled() && !serverObserver.isCancelled()) {
                Optional<FlightProgress> progress = pullProgress.apply(request.getImage());
                if (progress.isEmpty()) {
                    observer.onNext(PullProgress.newBuilder().setImage(request.getImage()).setDone(true).build());
                    observer.onCompleted();
                    return;
                }
                PullProgress.Builder reading = PullProgress.newBuilder().setImage(request.getImage());
                reading.addItems(toProto("ref", request.getImage(), 0, progress.get().snapshot(), 0));
                progress.get().parts().forEach((name, part) -> reading.addItems(toProto("layer", name, 0, part, 0)));
                observer.onNext(reading.build());
                Thread.sleep(WATCH_INTERVAL);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            observer.onError(StatusMapper.toStatus(e));
        }
    }

    private static Flight toProto(String tier, String key, int waiters, FlightProgress.Snapshot p, long ageMillis) {
        return Flight.newBuilder()
                .setTier(tier)
                .setKey(key)
                .setWaiters(waiters)
                .setPhase(p.phase())
                .setBytesDone(p.done())
                .setBytesTotal(p.total())
                .setAgeMillis(ageMillis)
                .build();
    }
}
