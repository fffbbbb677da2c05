package dev.singlepull.it;

import static dev.singlepull.it.fixture.PrometheusText.scrape;
import static dev.singlepull.it.fixture.PrometheusText.value;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Flight metrics per tier, as Prometheus scrapes them from the service's metrics endpoint. */
@Timeout(120)
class MetricsIT {

    @Test
    void concurrentPullsShowAsOneStartedFlightPerTierKeyAndJoinsForTheRest() throws Exception {
        try (RegistryProcess registry = RegistryProcess.start();
             SinglepullServer server = SinglepullServer.start(b -> b.metricsAddress("127.0.0.1:0"))) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/metrics", "v1", 2_000_000, 61));
            int callers = 8;
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> calls = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor(); CriClient cri = server.client()) {
                for (int i = 0; i < callers; i++) {
                    calls.add(pool.submit(() -> {
                        go.await();
                        return cri.images().pullImage(Cri.pull(image.reference())).getImageRef();
                    }));
                }
                go.countDown();
                for (Future<String> call : calls) {
                    call.get();
                }
            }
            String metrics = scrape(server.daemon().metricsPort().orElseThrow());
            int layers = image.layerDigests().size();
            // one ref flight, however the callers raced: every other caller joined it
            assertEquals(1, value(metrics, "singlepull_flights_started_total", "ref"));
            assertEquals(callers - 1, value(metrics, "singlepull_flights_joined_total", "ref"));
            assertEquals(1, value(metrics, "singlepull_flights_succeeded_total", "ref"));
            // config and every layer downloaded once; every layer unpacked once
            assertEquals(layers + 1, value(metrics, "singlepull_flights_started_total", "blob"));
            assertEquals(layers, value(metrics, "singlepull_flights_started_total", "chain"));
            assertEquals(0, value(metrics, "singlepull_flights_failed_total", "blob"));
            for (String tier : List.of("ref", "blob", "chain")) {
                assertEquals(0, value(metrics, "singlepull_flights_waiting", tier), "nobody waits on " + tier);
            }
        }
    }
}
