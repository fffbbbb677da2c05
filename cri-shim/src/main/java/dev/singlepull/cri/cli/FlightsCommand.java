package dev.singlepull.cri.cli;

import dev.singlepull.api.admin.v1.Flight;
import dev.singlepull.api.admin.v1.ListFlightsRequest;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Prints the service's live flights: who is waiting on which shared work, and how far it got. */
@Command(name = "flights", description = "List live flights (shared pulls, downloads and unpacks).")
final class FlightsCommand implements Runnable {
    @Mixin
    ClientOptions client;

    @Option(names = "--tier", description = "ref, blob or chain (default: all)")
    String tier = "";

    @Override
    public void run() {
        List<Flight> flights;
        try (CriClient cri = client.connect()) {
            flights = cri.admin().listFlights(ListFlightsRequest.newBuilder().setTier(tier).build()).getFlightsList();
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"TIER", "KEY", "WAITERS", "PHASE", "PROGRESS", "AGE"});
        for (Flight f : flights) {
            String progress = f.getBytesTotal() > 0
                    ? Sizes.human(f.getBytesDone()) + "/" + Sizes.human(f.getBytesTotal()) : Sizes.human(f.getBytesDone());
            rows.add(new String[] {f.getTier(), f.getKey(), Integer.toString(f.getWaiters()), f.getPhase(), progress,
                    String.format(java.util.Locale.ROOT, "%.1fs", f.getAgeMillis() / 1000.0)});
        }
        Table.print(rows);
    }
}
