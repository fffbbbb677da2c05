package dev.singlepull.cri.server;

import dev.singlepull.api.admin.v1.AdminGrpc;
import dev.singlepull.api.admin.v1.Flight;
import dev.singlepull.api.admin.v1.ListFlightsRequest;
import dev.singlepull.api.admin.v1.ListFlightsResponse;
import dev.singlepull.dedup.FlightInfo;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.function.Supplier;

/** singlepull's own Admin service: the live flights of every table. */
final class AdminGrpcService extends AdminGrpc.AdminImplBase {
    private final Supplier<List<FlightInfo>> flights;

    AdminGrpcService(Supplier<List<FlightInfo>> flights) {
        this.flights = flights;
    }

    @Override
    public void listFlights(ListFlightsRequest request, StreamObserver<ListFlightsResponse> observer) {
        CallBridge.answer(observer, () -> {
            ListFlightsResponse.Builder response = ListFlightsResponse.newBuilder();
            for (FlightInfo f : flights.get()) {
                if (!request.getTier().isEmpty() && !request.getTier().equals(f.tier())) {
                    continue;
                }
                response.addFlights(Flight.newBuilder()
                        .setTier(f.tier())
                        .setKey(f.key())
                        .setWaiters(f.waiters())
                        .setPhase(f.progress().phase())
                        .setBytesDone(f.progress().done())
                        .setBytesTotal(f.progress().total())
                        .setAgeMillis(f.age().toMillis()));
            }
            return response.build();
        });
    }
}
